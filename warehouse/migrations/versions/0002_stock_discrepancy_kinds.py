"""Stock: discrepancy kind and cause columns, push read-back (issue #5).

0001 stored a discrepancy's kind and cause as a text prefix of ``suggested_cause``
(``"<kind> (<cause>): <text>"``); they become real columns, backfilled from the rows' own
numbers the way ``domain.stock.reconcile`` derives them (no shop: count vs ledger, the sign
of the difference gives the cause; a shop: listing drift, the sign gives oversell or
undersell), and the prefix is cut off the text. Listing records also keep their listing and
the planned quantity. A push records its ``outcome`` (dry_run, confirmed, mismatch, failed):
``after_qty`` is the quantity read back after a live push. The downgrade puts the prefix back.

Revision ID: 0002_stock_discrepancy_kinds
Revises: 0001_initial
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002_stock_discrepancy_kinds'
down_revision: Union[str, Sequence[str], None] = '0001_initial'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_KIND_FROM_NUMBERS = ("CASE WHEN shop_id IS NULL THEN 'count_vs_ledger' "
                      "WHEN difference > 0 THEN 'oversell_risk' ELSE 'undersell' END")
_CAUSE_FROM_NUMBERS = ("CASE WHEN shop_id IS NOT NULL THEN 'listing_drift' "
                       "WHEN difference < 0 THEN 'unrecorded_shipment' ELSE 'unrecorded_receipt' END")


def upgrade() -> None:
    with op.batch_alter_table('stock_discrepancies') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('cause', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('marketplace_item_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('marketplace_sku_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('planned_qty', sa.Integer(), nullable=True))
    op.execute(f"UPDATE stock_discrepancies SET kind = {_KIND_FROM_NUMBERS}, cause = {_CAUSE_FROM_NUMBERS}")
    prefix = "kind || ' (' || cause || '): '"
    op.execute(f"UPDATE stock_discrepancies SET suggested_cause = substr(suggested_cause, length({prefix}) + 1) "
               f"WHERE substr(suggested_cause, 1, length({prefix})) = {prefix}")
    # 0001 told an edited listing from a stale one only in words: that becomes its own cause
    op.execute("UPDATE stock_discrepancies SET cause = 'listing_edited' "
               "WHERE cause = 'listing_drift' AND suggested_cause LIKE '%edited on the marketplace%'")
    with op.batch_alter_table('stock_discrepancies') as batch:
        batch.alter_column('kind', existing_type=sa.String(length=24), nullable=False)
        batch.alter_column('cause', existing_type=sa.String(length=24), nullable=False)
        batch.create_check_constraint(
            op.f('ck_stock_discrepancies_kind_allowed'), "kind IN ('count_vs_ledger', 'oversell_risk', 'undersell')")
        batch.create_check_constraint(
            op.f('ck_stock_discrepancies_cause_allowed'),
            "cause IN ('listing_drift', 'listing_edited', 'unrecorded_receipt', 'unrecorded_shipment')")

    with op.batch_alter_table('stock_pushes') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
    op.execute("UPDATE stock_pushes SET outcome = CASE WHEN dry_run THEN 'dry_run' "
               "WHEN confirmed THEN 'confirmed' ELSE 'mismatch' END")
    with op.batch_alter_table('stock_pushes') as batch:
        batch.alter_column('outcome', existing_type=sa.String(length=16), nullable=False)
        batch.create_check_constraint(op.f('ck_stock_pushes_outcome_allowed'), "outcome IN ('confirmed', 'dry_run', 'failed', 'mismatch')")


def downgrade() -> None:
    with op.batch_alter_table('stock_pushes') as batch:
        batch.drop_constraint(op.f('ck_stock_pushes_outcome_allowed'), type_='check')
        batch.drop_column('outcome')
    # 0001 knows the edited-listing cause as listing drift (its text says "edited")
    op.execute("UPDATE stock_discrepancies SET suggested_cause = kind || ' (' || "
               "CASE WHEN cause = 'listing_edited' THEN 'listing_drift' ELSE cause END || '): ' || "
               "coalesce(suggested_cause, '')")
    with op.batch_alter_table('stock_discrepancies') as batch:
        batch.drop_constraint(op.f('ck_stock_discrepancies_cause_allowed'), type_='check')
        batch.drop_constraint(op.f('ck_stock_discrepancies_kind_allowed'), type_='check')
        batch.drop_column('planned_qty')
        batch.drop_column('marketplace_sku_id')
        batch.drop_column('marketplace_item_id')
        batch.drop_column('cause')
        batch.drop_column('kind')
