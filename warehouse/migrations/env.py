"""Alembic environment: runs on the connection ``warehouse.migrate`` opened (no alembic.ini).

``render_as_batch`` makes future ALTERs work on SQLite (which rebuilds tables instead);
``UTCDateTime`` is rendered as a plain ``sa.DateTime(timezone=True)`` so revisions never
import the models (a migration must keep meaning what it meant when it was written).
"""
from __future__ import annotations

from alembic import context

from warehouse.models import Base, UTCDateTime



def render_item(type_: str, obj, autogen_context):
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through warehouse.migrate (upgrade/downgrade), not the alembic CLI")
    # The version table is created unqualified, i.e. in the first schema of the connection's
    # search_path: the schema named in the URL's options, next to the tables.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use warehouse.migrate.upgrade(url)")
run_migrations_online()
