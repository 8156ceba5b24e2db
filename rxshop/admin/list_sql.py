"""The SQL shapes that keep the owner's order list fast at 100,000 orders (bench/admin_scale.py), apart from
what the list means (rxshop.admin.queries).

- `contains_text`: case-blind "contains" that a covering index can answer: SQLite's LIKE already ignores
  ASCII case (and its lower() knows ASCII only), so `lower(email)` only forced a read of every table row
  (95 ms against 12 ms at 100,000 orders); PostgreSQL gets ILIKE.
- `utc_day`: a timestamp's UTC day, for revenue summed per day in the database.
- `page_ids`: a page is chosen on the list's covering indexes (migration 0012) by id alone, and only its
  rows are read; a page past the middle is read from the other end (an OFFSET costs every row it skips).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from rxshop.core.models import Order


class contains_text(FunctionElement):  # noqa: N801 (an SQL function, named as SQLAlchemy's are)
    """`contains_text(column, pattern)`: the column matches the LIKE pattern (escape `\\`), ignoring case;
    the caller lowercases the pattern."""

    type = sa.Boolean()
    inherit_cache = True
    name = "contains_text"


def _parts(element: contains_text, compiler: Any, **kw: Any) -> tuple[str, str, str]:
    column, pattern = list(element.clauses)
    escape = compiler.render_literal_value("\\", sa.String())
    return compiler.process(column, **kw), compiler.process(pattern, **kw), escape


@compiles(contains_text)
def _lower_like(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern, escape = _parts(element, compiler, **kw)
    return f"lower({column}) LIKE {pattern} ESCAPE {escape}"


@compiles(contains_text, "sqlite")
def _sqlite_like(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern, escape = _parts(element, compiler, **kw)
    return f"{column} LIKE {pattern} ESCAPE {escape}"


@compiles(contains_text, "postgresql")
def _ilike(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern, escape = _parts(element, compiler, **kw)
    return f"{column} ILIKE {pattern} ESCAPE {escape}"


class utc_day(FunctionElement):  # noqa: N801 (an SQL function, named as SQLAlchemy's are)
    """`utc_day(timestamp)`: its UTC day as text, 'YYYY-MM-DD' (revenue per day, grouped in the database)."""

    type = sa.String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _date(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(date({compiler.process(list(element.clauses)[0], **kw)}) AS VARCHAR)"


@compiles(utc_day, "sqlite")
def _sqlite_day(element: utc_day, compiler: Any, **kw: Any) -> str:
    # rxshop.core.models.UTCDateTime stores naive UTC text on SQLite: 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
    return f"substr({compiler.process(list(element.clauses)[0], **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _postgres_day(element: utc_day, compiler: Any, **kw: Any) -> str:
    # timestamptz: the day in UTC whatever the session's TimeZone.
    return f"to_char({compiler.process(list(element.clauses)[0], **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def reversed_order(clauses: Sequence[Any]) -> list[Any]:
    """The same ORDER BY, every term the other way (asc <-> desc)."""
    flipped = []
    for clause in clauses:
        modifier, element = clause.modifier, clause.element
        flipped.append(sa.asc(element) if modifier is sa.sql.operators.desc_op else sa.desc(element))
    return flipped


def page_ids(
    session: Session, where: list[Any], order: list[Any], offset: int, limit: int, total: int
) -> list[str]:
    """The ids of rows offset..offset+limit of the list in `order`, from the end nearer to them."""
    from_end = total - offset - limit
    if offset > total // 2 and from_end > -limit:
        # The same rows counted from the last one: the order reversed, a smaller offset, read back reversed.
        statement = sa.select(col(Order.id)).where(*where).order_by(*reversed_order(order))
        statement = statement.offset(max(0, from_end)).limit(limit + min(0, from_end))
        return list(reversed(session.connection().execute(statement).scalars().all()))
    statement = sa.select(col(Order.id)).where(*where).order_by(*order).offset(offset).limit(limit)
    return list(session.connection().execute(statement).scalars().all())
