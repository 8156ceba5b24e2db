"""The owner's sign-ins as their own cookie: admin_sessions keyed by a token's hash; admin_browsers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12 10:00:00

admin_sessions was keyed by the visitor id (the sign-in rode on the visitor cookie). It is now one row per
random admin token (stored as its SHA-256), a one-time grant or a session, with an absolute end. Existing
sign-ins end here: the owner signs in once more. admin_browsers lists the browsers the owner signed in
from (the shop-wide sign-in limit does not hold them up).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001


def upgrade() -> None:
    op.drop_table('admin_sessions')
    op.create_table(
        'admin_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('last_seen_at', UTC, nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_table(
        'admin_browsers',
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('last_signed_in_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('visitor_id'),
    )


def downgrade() -> None:
    op.drop_table('admin_browsers')
    op.drop_table('admin_sessions')
    op.create_table(
        'admin_sessions',
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('signed_in_at', UTC, nullable=False),
        sa.Column('last_seen_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('visitor_id'),
    )
