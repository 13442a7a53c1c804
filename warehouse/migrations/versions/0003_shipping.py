"""Shipping batches: whatever the batch flow needs beyond 0001 (issue #6).

Revision ID: 0003_shipping
Revises: 0002_stock_discrepancy_kinds
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision: str = '0003_shipping'
down_revision: Union[str, Sequence[str], None] = '0002_stock_discrepancy_kinds'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
