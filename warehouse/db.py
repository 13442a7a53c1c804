"""Engines and transactions for the warehouse, with the per-dialect settings it relies on."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

#: how long a SQLite writer waits for another writer's lock before "database is locked";
#: a pull writes one page per transaction, so waits are short unless something is stuck
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str | sa.URL, **engine_kwargs: Any) -> sa.Engine:
    """An engine for ``url`` configured for the warehouse.

    SQLite: WAL (readers never block the writer) with ``synchronous=NORMAL``, temporary
    tables in memory, foreign keys enforced (off by default in SQLite, and the ON DELETE
    CASCADE of order lines depends on them), a busy timeout so concurrent writers queue
    instead of failing. The driver's own transaction handling is switched off and SQLAlchemy
    emits ``BEGIN`` itself — the SQLAlchemy-documented recipe that makes DDL transactional
    too, so a failed migration leaves nothing half-applied. The folder of the database file
    is created if missing (a fresh checkout has no ``data/``).

    PostgreSQL: ``pool_pre_ping`` so a connection dropped by the server between two flow runs
    is replaced instead of failing the next run.
    """
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)  # first run: data/ may not exist yet
        engine = sa.create_engine(url, **engine_kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **engine_kwargs)


def _configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # with WAL, NORMAL skips an fsync per commit and stays consistent on power loss; only
        # the last commits can be lost, and the watermark stored with them rolls back too,
        # so the next pull fetches them again
        cursor.execute("PRAGMA synchronous=NORMAL")
        # staging tables of bulk upserts (warehouse.repository) live in memory, not a temp file
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """An ORM session holding one transaction: committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
