"""Test tiers and shared fixtures.

- ``tests/unit``: pure functions, no Prefect server, no database server: milliseconds.
- ``tests/integration``: a real database: SQLite always; PostgreSQL at
  ``SHOPOPS_TEST_POSTGRES_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
  Under ``CI=true`` PostgreSQL tests must run and fail when the server is unreachable;
  elsewhere they skip with a message saying how to enable them.
- ``tests/flows``: need Prefect; they share ONE ``prefect_test_harness`` per session
  (fixture ``prefect_harness``), because starting it costs ≈15 s.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

PG_ADMIN_URL = os.environ.get(
    "SHOPOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _pg_reachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_ADMIN_URL} is unreachable: {reason}")
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason}); start it or set "
            "SHOPOPS_TEST_POSTGRES_URL to enable these tests (they always run under CI=true)"
        )
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str):
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    name = f"shopops_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
            ), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """An empty warehouse URL on each supported dialect: the same test runs on both.

    PostgreSQL gets a fresh schema per test inside the session database, so tests stay
    independent without paying for a CREATE DATABASE each time.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    base = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    # psycopg passes libpq "options": the schema becomes the search_path of every connection
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def engine(database_url):
    """A migrated warehouse on each dialect (``database_url``), disposed after the test."""
    from warehouse import migrate
    from warehouse.db import make_engine

    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def english(monkeypatch):
    """Messages in English (``SHOPOPS_LOCALE=en``) for the test; the cached settings re-read."""
    from config.settings import get_settings

    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (≈15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
