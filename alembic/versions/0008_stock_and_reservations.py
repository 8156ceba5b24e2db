"""Stock per product and the reservations of open checkouts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

`stock`: one row per product the owner counts (no row: untracked). `stock_reservations`: what each order
holds of each product while its Checkout Session is open, keyed by (order id, product id).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001


def upgrade() -> None:
    op.create_table(
        'stock',
        sa.Column('product_id', sa.String(length=64), nullable=False),
        sa.Column('tracked', sa.Boolean(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('reserved', sa.Integer(), nullable=False),
        sa.Column('low_threshold', sa.Integer(), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.CheckConstraint('quantity >= 0', name='ck_stock_quantity'),
        sa.PrimaryKeyConstraint('product_id'),
    )
    op.create_table(
        'stock_reservations',
        sa.Column('order_id', sa.String(length=40), nullable=False),
        sa.Column('product_id', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('order_id', 'product_id'),
    )
    op.create_index(
        'ix_stock_reservations_status_expires_at', 'stock_reservations', ['status', 'expires_at']
    )


def downgrade() -> None:
    op.drop_index('ix_stock_reservations_status_expires_at', table_name='stock_reservations')
    op.drop_table('stock_reservations')
    op.drop_table('stock')
