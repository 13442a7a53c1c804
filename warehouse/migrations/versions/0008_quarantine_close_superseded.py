"""Quarantine: close the open rows a stored order already superseded (issue 18 #11).

Until now only the order versions stored in the same upsert closed the open rows of their
order; a version read after a newer valid one had been stored (a page shift, a rerun of an
older window) opened a row that nothing closed. The repository now closes such rows as they
are kept; this migration closes those already there: an open row whose version is not newer
than the stored order becomes ``superseded``. No schema change.

Downgrade: nothing to undo (the rows stay closed, as 0007's ``superseded``).

Revision ID: 0008_quarantine_close_superseded
Revises: 0007_quarantine_open_version
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0008_quarantine_close_superseded'
down_revision: Union[str, Sequence[str], None] = '0007_quarantine_open_version'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("UPDATE quarantine SET status = 'superseded' WHERE status = 'open' AND record_modified_at IS NOT NULL "
               "AND EXISTS (SELECT 1 FROM orders o WHERE o.platform = quarantine.platform "
               "AND o.shop_id = quarantine.shop_id AND o.order_id = quarantine.order_id "
               "AND quarantine.record_modified_at <= o.modified_at)")


def downgrade() -> None:
    pass
