"""Flow tests run against one Prefect test server per session and a warehouse in tmp."""
from __future__ import annotations

import pytest

from config.settings import get_settings


@pytest.fixture
def warehouse_env(tmp_path, monkeypatch, prefect_harness):
    """Point the settings at a fresh data folder (SQLite warehouse, reports) for one test."""
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def empty_warehouse(warehouse_env):
    """That data folder's warehouse, migrated and empty: an engine on it."""
    from warehouse import migrate
    from warehouse.db import make_engine

    migrate.upgrade(warehouse_env.warehouse_url)
    engine = make_engine(warehouse_env.warehouse_url)
    yield engine
    engine.dispose()
