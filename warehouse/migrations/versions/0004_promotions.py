"""Promotions: campaign state beyond 0001 (issue #8).

Revision ID: 0004_promotions
Revises: 0003_shipping
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision: str = '0004_promotions'
down_revision: Union[str, Sequence[str], None] = '0003_shipping'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
