"""`shopops db upgrade | current | downgrade` as an operator runs them, on both dialects."""
from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from config.settings import get_settings
from shopops.cli import app
from warehouse import migrate


def test_db_upgrade_current_downgrade(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPOPS_DATABASE_URL", database_url)
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        up = runner.invoke(app, ["db", "upgrade"])
        assert up.exit_code == 0, up.output
        assert f"is at revision {migrate.head()}" in up.output
        assert runner.invoke(app, ["db", "current"]).output.strip() == migrate.head()
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            assert {"orders", "order_lines", "quarantine", "settlements"} <= set(sa.inspect(conn).get_table_names())
        down = runner.invoke(app, ["db", "downgrade", "--revision", "base"])
        assert down.exit_code == 0 and "downgraded to revision base" in down.output
        with engine.connect() as conn:
            assert "orders" not in sa.inspect(conn).get_table_names()
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_unreachable_database_says_what_to_check(monkeypatch):
    monkeypatch.setenv("SHOPOPS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "Cannot open the warehouse at postgresql+psycopg://nobody@127.0.0.1:1/none" in result.output
    assert "Check SHOPOPS_DATABASE_URL" in result.output
