"""Settlement: each version keeps its inputs and KPIs (issue #7), so ``settle diff`` names
exactly what changed between two versions and ``settle show`` shows the KPIs as published;
orders get the indexes the month's aggregation needs (placed-in-month range on created_at,
and the new-buyer check on shop_id + buyer_key).

Revision ID: 0005_settlement
Revises: 0004_promotions
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005_settlement'
down_revision: Union[str, Sequence[str], None] = '0004_promotions'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a table in place beyond adding columns, and the
    # downgrade's DROP COLUMN needs it there
    with op.batch_alter_table('settlements') as batch:
        batch.add_column(sa.Column('inputs', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('kpis', sa.JSON(), nullable=True))
    op.create_index('ix_orders_created_at', 'orders', ['created_at'])
    op.create_index('ix_orders_shop_id_buyer_key', 'orders', ['shop_id', 'buyer_key'])


def downgrade() -> None:
    op.drop_index('ix_orders_shop_id_buyer_key', table_name='orders')
    op.drop_index('ix_orders_created_at', table_name='orders')
    with op.batch_alter_table('settlements') as batch:
        batch.drop_column('kpis')
        batch.drop_column('inputs')
