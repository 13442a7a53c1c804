"""``shopops db backup`` / ``restore`` (issue 19 #20): a warehouse with orders in it is backed up
through the CLI, restored into an EMPTY database, and every table then holds the same rows.
SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import Base

SHOPOPS = str(Path(sys.executable).parent / "shopops")


def _shopops(*args: str, url: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHOPOPS_DATABASE_URL": url, "SHOPOPS_DATA_DIR": str(data), "SHOPOPS_LOCALE": "en"}
    return subprocess.run([SHOPOPS, *args], env=env, capture_output=True, text=True, timeout=300)


def _content(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {table.name: sorted(tuple(map(repr, row)) for row in conn.execute(sa.select(table)))
                    for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def _filled(url: str, world) -> dict[str, list[tuple]]:
    from config.schema import load_config

    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        repository.sync_shops(engine, load_config().shops)
        for shop in world.shops[:2]:
            repository.upsert_orders(engine, world.ground_truth(shop.id))
    finally:
        engine.dispose()
    content = _content(url)
    assert len(content["orders"]) > 50 and len(content["order_lines"]) > 50
    return content


def _round_trip(source_url: str, empty_url: str, tmp_path: Path, world, backup_name: str) -> None:
    before = _filled(source_url, world)
    backup = tmp_path / "backups" / backup_name
    made = _shopops("db", "backup", str(backup), url=source_url, data=tmp_path / "data")
    assert made.returncode == 0, made.stderr
    assert backup.exists() and "backed up" in made.stdout and "Traceback" not in made.stderr
    done = _shopops("db", "restore", str(backup), "--yes", url=empty_url, data=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert _content(empty_url) == before
    assert migrate.current(empty_url) == migrate.current(source_url)


def test_sqlite_backup_restores_into_an_empty_database(tmp_path, world):
    _round_trip(f"sqlite:///{tmp_path / 'live.sqlite'}", f"sqlite:///{tmp_path / 'empty.sqlite'}", tmp_path, world,
                "warehouse.sqlite")


def test_a_missing_backup_is_a_clear_error_not_a_traceback(tmp_path):
    done = _shopops("db", "restore", str(tmp_path / "nope.sqlite"), "--yes",
                    url=f"sqlite:///{tmp_path / 'w.sqlite'}", data=tmp_path / "data")
    assert done.returncode == 1
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.postgres
def test_postgresql_backup_restores_into_an_empty_database(tmp_path, world, postgres_admin_url):
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    names = [f"shopops_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    urls = [sa.engine.make_url(postgres_admin_url).set(database=n).render_as_string(hide_password=False) for n in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(urls[0], urls[1], tmp_path, world, "warehouse.dump")
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                             {"n": name})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
