"""Schema migrations without an alembic.ini: every entry point passes the database URL.

The Alembic scripts live inside the package (``warehouse/migrations``), so an installed
``shopops`` migrates any warehouse with ``upgrade(url)``; the CLI (``shopops db …``) and the
``check-warehouse`` flow call these functions. A PostgreSQL ``search_path`` given in the URL
(``?options=-csearch_path%3Dschema``) is honoured: tables and ``alembic_version`` go there.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from warehouse.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(connection: sa.Connection) -> Config:
    """An Alembic config that hands env.py an open connection instead of a URL to parse."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _engine(url: str) -> sa.Engine:
    # NullPool: a migration is one short burst; no connection should outlive it
    return make_engine(url, poolclass=NullPool)


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the warehouse at ``url`` up to ``revision`` (idempotent at head)."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "-1") -> None:
    """Undo migrations down to ``revision``: ``-1`` is one step, ``base`` drops every table."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(_config(connection), revision)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The revision the warehouse at ``url`` is at; None for an empty (unmigrated) database."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision this code ships (what ``upgrade(url)`` migrates to)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def autogenerate_revision(url: str, message: str, rev_id: str) -> None:
    """Write a new revision from the difference between the models and the database at ``url``.

    For developers: migrate a scratch database to head, change ``warehouse/models.py``, call
    this, then read and correct the generated file before committing it.
    """
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            command.revision(_config(connection), message=message, autogenerate=True, rev_id=rev_id)
    finally:
        engine.dispose()
