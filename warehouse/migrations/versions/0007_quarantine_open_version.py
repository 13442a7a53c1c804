"""Quarantine: one open row per order version (issue 19 #10).

A quarantined record was told apart by the hash of its whole record, which includes the
archived page it came from; every re-read of a still-invalid order from a page that differed
in any other order added one more row (118 rows for 59 orders). An open row is now one per
order version (platform, shop, order id, modified time); a re-read refreshes its reasons and
``last_checked_at``; and once a valid version at least as new is stored, its open rows become
``superseded``.

Upgrade: open duplicates of a version collapse into the newest row (the latest reasons),
open since the first one was seen; a partial unique index keeps it so (records without an
order id or modified time stay told apart by their hash: NULLs never collide); the status
may be ``superseded``. Downgrade: superseded rows become ``released`` (closed), the status
check and the index go back (the removed duplicates do not come back).

Revision ID: 0007_quarantine_open_version
Revises: 0006_open_discrepancy_key
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007_quarantine_open_version'
down_revision: Union[str, Sequence[str], None] = '0006_open_discrepancy_key'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_SAME_OPEN_VERSION = ("n.status = 'open' AND n.platform = quarantine.platform AND n.shop_id = quarantine.shop_id "
                      "AND n.order_id = quarantine.order_id AND n.record_modified_at = quarantine.record_modified_at")
OPEN_WHERE = "status = 'open'"


def upgrade() -> None:
    op.execute("UPDATE quarantine SET first_seen_at = (SELECT MIN(n.first_seen_at) FROM quarantine n "
               f"WHERE {_SAME_OPEN_VERSION}) WHERE status = 'open' AND order_id IS NOT NULL "
               "AND record_modified_at IS NOT NULL")
    op.execute("DELETE FROM quarantine WHERE status = 'open' AND EXISTS (SELECT 1 FROM quarantine n "
               f"WHERE {_SAME_OPEN_VERSION} AND n.id > quarantine.id)")
    with op.batch_alter_table('quarantine') as batch:
        batch.drop_constraint(op.f('ck_quarantine_status_allowed'), type_='check')
        batch.create_check_constraint(op.f('ck_quarantine_status_allowed'),
                                      "status IN ('discarded', 'open', 'released', 'superseded')")
    op.create_index('uq_quarantine_open_version', 'quarantine',
                    ['platform', 'shop_id', 'order_id', 'record_modified_at'], unique=True,
                    sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE))


def downgrade() -> None:
    op.drop_index('uq_quarantine_open_version', table_name='quarantine')
    op.execute("UPDATE quarantine SET status = 'released' WHERE status = 'superseded'")
    with op.batch_alter_table('quarantine') as batch:
        batch.drop_constraint(op.f('ck_quarantine_status_allowed'), type_='check')
        batch.create_check_constraint(op.f('ck_quarantine_status_allowed'),
                                      "status IN ('discarded', 'open', 'released')")
