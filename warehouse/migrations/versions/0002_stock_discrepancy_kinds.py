"""Stock: discrepancy kind and cause columns, push read-back (issue #5).

Revision ID: 0002_stock_discrepancy_kinds
Revises: 0001_initial
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision: str = '0002_stock_discrepancy_kinds'
down_revision: Union[str, Sequence[str], None] = '0001_initial'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
