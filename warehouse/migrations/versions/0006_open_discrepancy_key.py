"""Stock: one open discrepancy per key, updated by later runs (issue 17 #2).

Until now a run filed a discrepancy again whenever its numbers differed from the open one's,
and an hourly reconcile-stock without a count file (no warehouse count on the listing
records) filed every open oversell risk again each hour. A discrepancy is one open record per
(kind, SKU, warehouse, shop and listing) until a person resolves it; later runs update its
numbers and ``last_seen_at``.

Upgrade: ``last_seen_at`` (the last run that found it; the filing time for existing rows);
open duplicates collapse into the newest row (the latest numbers), open since the first
filing; two partial unique indexes keep it so — count records (no shop) and listing records
apart, because NULLs never collide in a unique index on SQLite or PostgreSQL. Resolved
records are left as they are. Downgrade drops the indexes and the column (the removed
duplicates do not come back).

Revision ID: 0006_open_discrepancy_key
Revises: 0005_settlement
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006_open_discrepancy_key'
down_revision: Union[str, Sequence[str], None] = '0005_settlement'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_SAME_OPEN_KEY = (
    "n.status = 'open' AND n.kind = stock_discrepancies.kind AND n.sku = stock_discrepancies.sku "
    "AND n.warehouse = stock_discrepancies.warehouse "
    + " ".join(f"AND COALESCE(n.{c}, '') = COALESCE(stock_discrepancies.{c}, '')"
               for c in ("shop_id", "marketplace_item_id", "marketplace_sku_id")))
OPEN_COUNT_WHERE = "status = 'open' AND shop_id IS NULL"
OPEN_LISTING_WHERE = "status = 'open' AND shop_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('stock_discrepancies') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE stock_discrepancies SET last_seen_at = created_at")
    # open since the first filing; the newest row (highest id) keeps the latest numbers
    op.execute("UPDATE stock_discrepancies SET created_at = (SELECT MIN(n.created_at) FROM stock_discrepancies n "
               f"WHERE {_SAME_OPEN_KEY}) WHERE status = 'open'")
    op.execute("DELETE FROM stock_discrepancies WHERE status = 'open' AND EXISTS (SELECT 1 FROM stock_discrepancies n "
               f"WHERE {_SAME_OPEN_KEY} AND n.id > stock_discrepancies.id)")
    op.create_index('uq_stock_discrepancies_open_count', 'stock_discrepancies', ['kind', 'sku', 'warehouse'],
                    unique=True, sqlite_where=sa.text(OPEN_COUNT_WHERE), postgresql_where=sa.text(OPEN_COUNT_WHERE))
    op.create_index('uq_stock_discrepancies_open_listing', 'stock_discrepancies',
                    ['kind', 'sku', 'warehouse', 'shop_id', 'marketplace_item_id', 'marketplace_sku_id'], unique=True,
                    sqlite_where=sa.text(OPEN_LISTING_WHERE), postgresql_where=sa.text(OPEN_LISTING_WHERE))


def downgrade() -> None:
    op.drop_index('uq_stock_discrepancies_open_listing', table_name='stock_discrepancies')
    op.drop_index('uq_stock_discrepancies_open_count', table_name='stock_discrepancies')
    with op.batch_alter_table('stock_discrepancies') as batch:
        batch.drop_column('last_seen_at')
