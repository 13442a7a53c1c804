"""Shipping batches: the units allocated to each batched order, and who released a hold (issue #6).

``batch_lines`` keeps what a batch picks per order line (gifts of the running promotion
included, which no order line holds), so a batch's pick list, packing slips and the outbound
posted at hand-over come from what was allocated, not from the order as it may read later.
``order_holds`` gets each reason in words (``details``) and ``released_by``: a person who dealt
with the hold (a remark read) or the shipping run that found its reasons gone — the audit
lets an order whose remark a person released through.

Revision ID: 0003_shipping
Revises: 0002_stock_discrepancy_kinds
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003_shipping'
down_revision: Union[str, Sequence[str], None] = '0002_stock_discrepancy_kinds'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('batch_lines',
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=400), nullable=True),
    sa.Column('variant', sa.String(length=200), nullable=True),
    sa.Column('is_gift', sa.Boolean(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('warehouse', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['batch_id', 'platform', 'shop_id', 'order_id'],
                            ['batch_orders.batch_id', 'batch_orders.platform', 'batch_orders.shop_id',
                             'batch_orders.order_id'],
                            name=op.f('fk_batch_lines_batch_id_platform_shop_id_order_id_batch_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', 'platform', 'shop_id', 'order_id', 'line_no', 'sku',
                            name=op.f('pk_batch_lines'))
    )
    with op.batch_alter_table('order_holds') as batch:
        batch.add_column(sa.Column('details', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('released_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_holds') as batch:
        batch.drop_column('released_by')
        batch.drop_column('details')
    op.drop_table('batch_lines')
