"""Promotions: where a price observation came from, and the index the 30-day low reads (issue #8).

``price_history`` is filled by the promotion flow (``warehouse/promotions.py``): one row per
shop, SKU and UTC day from the order lines' unit prices (``source = 'order_lines'``) and one
per reading of a listing's price (``source = 'listing'``). The campaign rules read it by SKU
and time, hence the index.

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
    with op.batch_alter_table('price_history') as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='order_lines'))
        batch.create_check_constraint(op.f('ck_price_history_source_allowed'), "source IN ('listing', 'order_lines')")
    op.create_index(op.f('ix_price_history_sku_observed_at'), 'price_history', ['sku', 'observed_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_price_history_sku_observed_at'), table_name='price_history')
    with op.batch_alter_table('price_history') as batch:
        batch.drop_constraint(op.f('ck_price_history_source_allowed'), type_='check')
        batch.drop_column('source')
