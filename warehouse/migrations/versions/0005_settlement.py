"""Settlement: KPI inputs beyond 0001 (issue #7).

Revision ID: 0005_settlement
Revises: 0004_promotions
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision: str = '0005_settlement'
down_revision: Union[str, Sequence[str], None] = '0004_promotions'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
