"""Covering indexes for the owner's order list, tab counts and revenue at 100,000 orders

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 11:00:00

Each sort of the order list gets an index that starts with its ORDER BY and also holds the columns the list
filters on (status, shipping, date), so a page is chosen from the index alone (bench/admin_scale.py: the last
page of 92,719 orders from 380 ms to ~15 ms on SQLite). The status one also groups the tab counts. Revenue's
index holds what is summed per day and the id product totals join on. The single-column indexes on
created_at, customer_email and paid_at are prefixes of the new ones and go.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0012'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST = ['status', 'fulfillment_status']
NEW = {
    'ix_orders_list_created_at': ['created_at', 'id', *LIST],
    'ix_orders_list_email': ['customer_email', 'created_at', 'id', *LIST],
    'ix_orders_list_total': ['amount_total', 'created_at', 'id', *LIST],
    'ix_orders_list_number': ['number', 'id', *LIST, 'created_at'],
    'ix_orders_list_status': [*LIST, 'created_at', 'id'],
    'ix_orders_revenue': [
        'paid_at', 'status', 'id', 'amount_total', 'amount_shipping', 'amount_discount', 'amount_refunded'
    ],
}
OLD = {
    'ix_orders_created_at': ['created_at'],
    'ix_orders_customer_email': ['customer_email'],
    'ix_orders_paid_at': ['paid_at'],
}


def upgrade() -> None:
    for name, columns in NEW.items():
        op.create_index(name, 'orders', columns)
    for name in OLD:
        op.drop_index(name, table_name='orders')


def downgrade() -> None:
    for name, columns in OLD.items():
        op.create_index(name, 'orders', columns)
    for name in NEW:
        op.drop_index(name, table_name='orders')
