"""Migrations: `upgrade head` builds exactly the tables rxshop.core.models describes, on SQLite and PostgreSQL."""

import os
import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import rxshop.core.mail_models  # noqa: F401  (the tables the migrations must match)
import rxshop.core.models  # noqa: F401
from alembic import command
from rxshop.core.db import ROOT, alembic_config, get_engine, migrate

TABLES = {
    "orders",
    "order_lines",
    "stripe_events",
    "order_events",
    "refund_requests",
    "exceptions_inbox",
    "admin_sessions",
    "admin_login_failures",
    "stock",
    "stock_reservations",
    "carts",
    "cart_lines",
    "mail_outbox",
    "order_links",
    "email_challenges",
    "email_grants",
}


def _differences(engine, metadata):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def test_upgrade_head_matches_the_models(db_url):
    migrate(db_url)
    migrate(db_url)  # a second run is a no-op (`make run` migrates on every start)
    engine = get_engine(db_url)
    inspector = sa.inspect(engine)
    assert TABLES <= set(inspector.get_table_names())
    if engine.dialect.name == "postgresql":
        assert inspector.default_schema_name.startswith("rxshop_test_")  # the test's own schema
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == head
    assert _differences(engine, SQLModel.metadata) == []


def test_the_comparison_would_notice_a_drift(db_url):
    """The check above is live: a model that differs from the database is reported."""
    migrate(db_url)
    drifted = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["orders"].append_column(sa.Column("coupon", sa.String(20)))
    drifted.tables["order_lines"].c.quantity.type = sa.String(10)
    kinds = {
        diff[0] if isinstance(diff, tuple) else diff[0][0]
        for diff in _differences(get_engine(db_url), drifted)
    }
    assert {"add_column", "modify_type"} <= kinds


def test_downgrade_to_base_and_back(db_url):
    migrate(db_url)
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert not TABLES & set(sa.inspect(engine).get_table_names())
    migrate(db_url)
    assert TABLES <= set(sa.inspect(engine).get_table_names())


def test_the_alembic_cli_takes_the_url_from_settings(tmp_path):
    """`alembic upgrade head` in the repository migrates DATABASE_URL (no URL in alembic.ini)."""
    database = tmp_path / "cli.db"
    env = {**os.environ, "RXSHOP_ENV_FILE": "", "DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert (
                conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            )  # made through rxshop.core.db
    finally:
        engine.dispose()


def test_0002_keeps_only_the_newest_unattached_pending_order_per_cart(db_url):
    """Databases from before the one-unattached-order index may hold duplicates: the upgrade gives them up."""
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    rows = [
        ("ord_old", "2026-11-01 10:00:00+00:00", "pending", None),
        ("ord_new", "2026-11-01 10:05:00+00:00", "pending", None),
        ("ord_paid", "2026-11-01 09:00:00+00:00", "paid", "cs_test_paid"),
        ("ord_other_visitor", "2026-11-01 09:00:00+00:00", "pending", None),
    ]
    with engine.begin() as conn:
        for order_id, created, status, session_id in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO orders (id, visitor_id, status, currency, amount_total, amount_refunded, cart_fingerprint,"
                    " stripe_session_id, created_at, updated_at) VALUES (:id, :visitor, :status, 'usd', 1800, 0,"
                    " 'usd:mugx1@1800', :session_id, :created, :created)"
                ),
                {
                    "id": order_id,
                    "visitor": "v2" if order_id == "ord_other_visitor" else "v1",
                    "status": status,
                    "session_id": session_id,
                    "created": created,
                },
            )
    migrate(db_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("SELECT id, status FROM orders")).all())
    assert statuses == {
        "ord_old": "expired",
        "ord_new": "pending",
        "ord_paid": "paid",
        "ord_other_visitor": "pending",
    }
