"""Tasks that look after the warehouse itself."""
from __future__ import annotations

import pandas as pd
from prefect import task

from config.settings import get_settings
from warehouse import migrate, repository
from warehouse.db import make_engine


@task(name="migrate-warehouse")
def migrate_warehouse() -> str:
    """Bring the warehouse schema to the newest revision (idempotent); return that revision."""
    url = get_settings().warehouse_url
    migrate.upgrade(url)
    return migrate.current(url) or "base"


@task(name="count-warehouse-rows")
def count_warehouse_rows() -> pd.DataFrame:
    """Rows per table, largest first."""
    engine = make_engine(get_settings().warehouse_url)
    try:
        counts = repository.table_counts(engine)
    finally:
        engine.dispose()
    frame = pd.DataFrame(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), columns=["table", "rows"])
    return frame
