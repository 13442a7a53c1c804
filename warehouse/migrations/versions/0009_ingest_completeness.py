"""Ingestion completeness, per window, and watermark rewinds (issue 18, "Completeness").

``capture_windows``: one row per window a pull read, the platform's own count (TOP
``total_results``, PDD ``total_count``, JD ``orderTotal``, Douyin ``total``, Shopify
``orders/count.json``; NULL for Amazon) next to the orders captured, and whether the window was
complete (an incomplete one keeps the watermark before it). ``capture_log`` gains the run's
sums of both. ``ingest_rewinds``: each watermark moved back by ``shopops ingest rewind``, with
who and why. Downgrade drops them (the records are lost).

Revision ID: 0009_ingest_completeness
Revises: 0008_quarantine_close_superseded
Create Date: 2026-12-04

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009_ingest_completeness'
down_revision: Union[str, Sequence[str], None] = '0008_quarantine_close_superseded'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('capture_windows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('capture_log_id', sa.BigInteger(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=True),
    sa.Column('captured', sa.Integer(), nullable=False),
    sa.Column('reads', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('complete', 'incomplete')", name=op.f('ck_capture_windows_status_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_windows'))
    )
    with op.batch_alter_table('capture_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capture_windows_shop_id_window_start'), ['shop_id', 'window_start'], unique=False)

    op.create_table('ingest_rewinds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=32), nullable=False),
    sa.Column('from_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('to_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rewound_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rewound_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_rewinds'))
    )
    with op.batch_alter_table('ingest_rewinds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_rewinds_shop_id_rewound_at'), ['shop_id', 'rewound_at'], unique=False)

    with op.batch_alter_table('capture_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orders_expected', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('orders_captured', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('capture_log', schema=None) as batch_op:
        batch_op.drop_column('orders_captured')
        batch_op.drop_column('orders_expected')

    with op.batch_alter_table('ingest_rewinds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_rewinds_shop_id_rewound_at'))

    op.drop_table('ingest_rewinds')
    with op.batch_alter_table('capture_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capture_windows_shop_id_window_start'))

    op.drop_table('capture_windows')