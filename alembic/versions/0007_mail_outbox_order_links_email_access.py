"""mail_outbox, order_links, email_challenges, email_grants

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-10 10:00:00

The transactional email outbox (one row per message, written in the transaction of its cause, claimed by
the sender), secret order links (hashes only), and "find my orders" by email: sign-in codes (keyed hashes)
and the grants they give one browser.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # rxshop.core.models.UTCDateTime, as in 0001


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("resend_of", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_mail_outbox_dedupe_key"),
    )
    op.create_index("ix_mail_outbox_status_next_attempt_at", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_mail_outbox_order_id_id", "mail_outbox", ["order_id", "id"])
    op.create_table(
        "order_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_order_links_token_hash"),
    )
    op.create_index("ix_order_links_order_id", "order_links", ["order_id"])
    op.create_table(
        "email_challenges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_email_challenges_visitor_id_created_at", "email_challenges", ["visitor_id", "created_at"]
    )
    op.create_table(
        "email_grants",
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("granted_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("visitor_id", "email"),
    )


def downgrade() -> None:
    op.drop_table("email_grants")
    op.drop_index("ix_email_challenges_visitor_id_created_at", table_name="email_challenges")
    op.drop_table("email_challenges")
    op.drop_index("ix_order_links_order_id", table_name="order_links")
    op.drop_table("order_links")
    op.drop_index("ix_mail_outbox_order_id_id", table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_status_next_attempt_at", table_name="mail_outbox")
    op.drop_table("mail_outbox")
