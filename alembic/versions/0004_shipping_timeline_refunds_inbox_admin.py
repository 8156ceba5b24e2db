"""Shipping, order numbers and amounts on orders; order_events, refund_requests, exceptions_inbox,
admin_sessions, admin_login_failures

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00

Orders gain a short unique number (existing orders get one here), the amounts Stripe reports (subtotal,
shipping, discount; existing orders: subtotal = total), the shipping offer, address and rate, and their
fulfillment (carrier, tracking, shipped_at). New tables hold the order timeline, the owner's refund requests
(one per idempotency key), the exceptions inbox, and the owner's sign-ins and failed attempts.
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ORDER_COLUMNS = [
    sa.Column('number', sa.String(length=16), nullable=True),
    sa.Column('amount_subtotal', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('amount_shipping', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('amount_discount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('shipping_offer', sa.String(length=500), nullable=True),
    sa.Column('shipping_rate_id', sa.String(length=32), nullable=True),
    sa.Column('shipping_rate_name', sa.String(length=100), nullable=True),
    sa.Column('ship_name', sa.String(length=200), nullable=True),
    sa.Column('ship_line1', sa.String(length=200), nullable=True),
    sa.Column('ship_line2', sa.String(length=200), nullable=True),
    sa.Column('ship_city', sa.String(length=200), nullable=True),
    sa.Column('ship_state', sa.String(length=200), nullable=True),
    sa.Column('ship_postal_code', sa.String(length=32), nullable=True),
    sa.Column('ship_country', sa.String(length=2), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('fulfillment_status', sa.String(length=16), server_default='unfulfilled', nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('shipped_at', UTC, nullable=True),
]


def upgrade() -> None:
    for column in ORDER_COLUMNS:
        op.add_column('orders', column)
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE orders SET amount_subtotal = amount_total"))
    used: set[str] = set()
    for (order_id,) in conn.execute(sa.text("SELECT id FROM orders")).all():
        number = ""
        while not number or number in used:
            number = "RX-" + "".join(secrets.choice(ALPHABET) for _ in range(6))
        used.add(number)
        conn.execute(sa.text("UPDATE orders SET number = :n WHERE id = :id"), {"n": number, "id": order_id})
    op.create_index('uq_orders_number', 'orders', ['number'], unique=True)
    op.create_index('ix_orders_created_at', 'orders', ['created_at'])
    op.create_index('ix_orders_paid_at', 'orders', ['paid_at'])
    op.create_index('ix_orders_customer_email', 'orders', ['customer_email'])

    op.create_table(
        'order_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.String(length=40), nullable=False),
        sa.Column('at', UTC, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_order_events_order_id_at', 'order_events', ['order_id', 'at'])
    op.create_table(
        'refund_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_key', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.String(length=40), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('requested_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key', name='uq_refund_requests_request_key'),
    )
    op.create_index('ix_refund_requests_order_id', 'refund_requests', ['order_id'])
    op.create_table(
        'exceptions_inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('reference', sa.String(length=255), nullable=False),
        sa.Column('order_id', sa.String(length=40), nullable=True),
        sa.Column('session_id', sa.String(length=255), nullable=True),
        sa.Column('event_id', sa.String(length=255), nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('resolved_at', UTC, nullable=True),
        sa.Column('resolution_note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'reference', name='uq_exceptions_inbox_kind_reference'),
    )
    op.create_index('ix_exceptions_inbox_created_at', 'exceptions_inbox', ['created_at'])
    # Signed, unprocessable events recorded before this revision go to the inbox too.
    conn.execute(
        sa.text(
            "INSERT INTO exceptions_inbox (kind, reference, event_id, detail, created_at)"
            " SELECT 'unprocessable', id, id, COALESCE(detail, ''), received_at FROM stripe_events"
            " WHERE outcome = 'unprocessable'"
        )
    )
    op.create_table(
        'admin_sessions',
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('signed_in_at', UTC, nullable=False),
        sa.Column('last_seen_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('visitor_id'),
    )
    op.create_table(
        'admin_login_failures',
        sa.Column('client_key', sa.String(length=128), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', UTC, nullable=False),
        sa.Column('blocked_until', UTC, nullable=True),
        sa.PrimaryKeyConstraint('client_key'),
    )


def downgrade() -> None:
    op.drop_table('admin_login_failures')
    op.drop_table('admin_sessions')
    op.drop_index('ix_exceptions_inbox_created_at', table_name='exceptions_inbox')
    op.drop_table('exceptions_inbox')
    op.drop_index('ix_refund_requests_order_id', table_name='refund_requests')
    op.drop_table('refund_requests')
    op.drop_index('ix_order_events_order_id_at', table_name='order_events')
    op.drop_table('order_events')
    for name in ('ix_orders_customer_email', 'ix_orders_paid_at', 'ix_orders_created_at', 'uq_orders_number'):
        op.drop_index(name, table_name='orders')
    for column in reversed(ORDER_COLUMNS):
        op.drop_column('orders', column.name)
