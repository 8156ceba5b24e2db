"""Refund reasons and notes, a tracking email asked for, the promotion code used; discount_codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00

refund_requests gain Stripe's reason and the owner's note; orders gain the time the owner asked to tell the
buyer of changed tracking, and the promotion code and coupon Stripe applied at Checkout. discount_codes
remembers each promotion code's text by its id (Stripe reports only the id on a session). Nothing to move:
older refunds have no reason, older orders no code.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001
ORDER_COLUMNS = [
    sa.Column('tracking_email_requested_at', UTC, nullable=True),
    sa.Column('promotion_code_id', sa.String(length=255), nullable=True),
    sa.Column('coupon_id', sa.String(length=255), nullable=True),
]
REFUND_COLUMNS = [
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
]


def upgrade() -> None:
    for column in ORDER_COLUMNS:
        op.add_column('orders', column)
    for column in REFUND_COLUMNS:
        op.add_column('refund_requests', column)
    op.create_table(
        'discount_codes',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('code', sa.String(length=500), nullable=False),
        sa.Column('coupon_id', sa.String(length=255), nullable=False),
        sa.Column('seen_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('discount_codes')
    for column in reversed(REFUND_COLUMNS):
        op.drop_column('refund_requests', column.name)
    for column in reversed(ORDER_COLUMNS):
        op.drop_column('orders', column.name)
