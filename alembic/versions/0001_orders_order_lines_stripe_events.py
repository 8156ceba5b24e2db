"""orders, order lines, stripe events

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:51:28.893567

Written by autogenerate, reviewed: plain op.create_index instead of batch blocks (new tables need no
copy on SQLite), DateTime(timezone=True) for rxshop.core.models.UTCDateTime (see alembic/env.py render_item).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'orders',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('visitor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('amount_total', sa.BigInteger(), nullable=False),
        sa.Column('amount_refunded', sa.BigInteger(), nullable=False),
        sa.Column('cart_fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('stripe_session_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('checkout_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('session_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('customer_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stripe_session_id', name='uq_orders_stripe_session_id'),
    )
    op.create_index('ix_orders_payment_intent_id', 'orders', ['payment_intent_id'], unique=False)
    op.create_index('ix_orders_status_session_expires_at', 'orders', ['status', 'session_expires_at'], unique=False)
    op.create_index('ix_orders_visitor_id_created_at', 'orders', ['visitor_id', 'created_at'], unique=False)

    op.create_table(
        'order_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('product_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('unit_amount', sa.BigInteger(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name='fk_order_lines_order_id_orders'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_order_lines_order_id', 'order_lines', ['order_id'], unique=False)

    op.create_table(
        'stripe_events',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('session_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column('stripe_created', sa.BigInteger(), nullable=True),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('stripe_events')
    op.drop_index('ix_order_lines_order_id', table_name='order_lines')
    op.drop_table('order_lines')
    op.drop_index('ix_orders_visitor_id_created_at', table_name='orders')
    op.drop_index('ix_orders_status_session_expires_at', table_name='orders')
    op.drop_index('ix_orders_payment_intent_id', table_name='orders')
    op.drop_table('orders')
