"""Each visitor's cart on the server: carts, cart_lines

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00

The cart moves from one tab's state to the server, keyed by the visitor credential's id, so every tab
of a visitor shows the same cart, across reloads and visits. One row per visitor (when it last changed),
one line per product in it (quantity > 0). No data to move: carts lived only in the tabs until now.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001


def upgrade() -> None:
    op.create_table(
        'carts',
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('visitor_id'),
    )
    op.create_index('ix_carts_updated_at', 'carts', ['updated_at'])
    op.create_table(
        'cart_lines',
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('product_id', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity > 0', name='ck_cart_lines_quantity_positive'),
        sa.ForeignKeyConstraint(
            ['visitor_id'], ['carts.visitor_id'], name='fk_cart_lines_visitor_id_carts', ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('visitor_id', 'product_id'),
    )


def downgrade() -> None:
    op.drop_table('cart_lines')
    op.drop_index('ix_carts_updated_at', table_name='carts')
    op.drop_table('carts')
