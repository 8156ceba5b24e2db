"""orders.livemode and orders.client_ip, stripe_events.detail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:30:00

livemode: the mode of the key an order was created with; an event of the other mode is refused.
client_ip: where Buy was pressed, to cap open checkouts per client. detail: why an event was unprocessable.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('orders', sa.Column('livemode', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('orders', sa.Column('client_ip', sa.String(length=64), nullable=True))
    op.create_index('ix_orders_client_ip_status', 'orders', ['client_ip', 'status'])
    op.add_column('stripe_events', sa.Column('detail', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('stripe_events', 'detail')
    op.drop_index('ix_orders_client_ip_status', table_name='orders')
    op.drop_column('orders', 'client_ip')
    op.drop_column('orders', 'livemode')
