"""Migrations: `upgrade head` builds exactly the tables rxshop.models describes, on SQLite and PostgreSQL."""

import os
import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import rxshop.models  # noqa: F401  (the tables the migrations must match)
from alembic import command
from rxshop.db import ROOT, alembic_config, get_engine, migrate

TABLES = {"orders", "order_lines", "stripe_events"}


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
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0001"
    assert _differences(engine, SQLModel.metadata) == []


def test_the_comparison_would_notice_a_drift(db_url):
    """The check above is live: a model that differs from the database is reported."""
    migrate(db_url)
    drifted = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["orders"].append_column(sa.Column("coupon", sa.String(20)))
    drifted.tables["order_lines"].c.quantity.type = sa.String(10)
    kinds = {diff[0] if isinstance(diff, tuple) else diff[0][0] for diff in _differences(get_engine(db_url), drifted)}
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
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"  # made through rxshop.db
    finally:
        engine.dispose()
