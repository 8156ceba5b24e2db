"""Visitor ids: the random id that owns a browser's orders, and the one rule for a well-formed one."""

import re
import secrets

VISITOR_ID = re.compile(r"[0-9a-f]{32}")


def is_visitor_id(value: object) -> bool:
    return isinstance(value, str) and VISITOR_ID.fullmatch(value) is not None


def new_visitor_id() -> str:
    """128 random bits as hex: unguessable, and safe in a Reflex shared-state token (no '_')."""
    return secrets.token_hex(16)
