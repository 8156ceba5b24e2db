"""one unattached pending order per visitor and cart

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:35:00

A partial unique index: two tabs pressing Buy at the same moment share one order (and so one idempotency
key and one Checkout Session) instead of making two.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNATTACHED_PENDING = sa.text("status = 'pending' AND stripe_session_id IS NULL")


def upgrade() -> None:
    # Orders from before this index could break it: give up all but the newest of each group first.
    op.execute("""
        UPDATE orders SET status = 'expired'
        WHERE status = 'pending' AND stripe_session_id IS NULL AND EXISTS (
            SELECT 1 FROM orders AS newer
            WHERE newer.visitor_id = orders.visitor_id AND newer.cart_fingerprint = orders.cart_fingerprint
              AND newer.status = 'pending' AND newer.stripe_session_id IS NULL
              AND (newer.created_at > orders.created_at
                   OR (newer.created_at = orders.created_at AND newer.id > orders.id)))
    """)
    op.create_index('uq_orders_unattached_pending_cart', 'orders', ['visitor_id', 'cart_fingerprint'],
                    unique=True, sqlite_where=UNATTACHED_PENDING, postgresql_where=UNATTACHED_PENDING)


def downgrade() -> None:
    op.drop_index('uq_orders_unattached_pending_cart', table_name='orders')
