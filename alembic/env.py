"""Alembic environment: rxshop's SQLModel tables, URL from rxshop.core.settings unless set programmatically."""

from logging.config import fileConfig

from sqlmodel import SQLModel

import rxshop.core.mail_models  # noqa: F401  (the outbox, order links and email access tables)
import rxshop.core.models  # registers the tables on SQLModel.metadata
from alembic import context
from rxshop.core.db import get_engine
from rxshop.core.settings import get_settings

config = context.config

# The CLI configures logging from alembic.ini; rxshop.core.db.migrate() leaves the running process's logging alone.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def render_item(type_, obj, autogen_context):
    """Write UTCDateTime as the plain column type it is, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, rxshop.core.models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**kwargs) -> None:
    url = kwargs.pop("url", None) or database_url()
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
        url=url if "connection" not in kwargs else None,
        **kwargs,
    )


def run_migrations_offline() -> None:
    configure(literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # rxshop.core.db.migrate() hands over its own connection
        configure(connection=connection, url=str(connection.engine.url))
        with context.begin_transaction():
            context.run_migrations()
        return
    with get_engine(database_url()).connect() as connection:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
