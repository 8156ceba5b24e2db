"""Stripe's form encoding (`line_items[0][price_data][currency]=usd`) decoded into nested dicts, plus typed readers.

The SDK encodes lists with explicit indexes (`expand[0]=x`); hand-written clients often send `expand[]=x`.
Both decode to the same thing. Lists stay dicts keyed "0", "1", ... until a reader asks for a list, so
`metadata[0]=x` remains a metadata key, as on Stripe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from stripe._request_options import RequestOptions

from rxshop.stripe_sim.errors import invalid, missing_param, unknown_param
from rxshop.stripe_sim.money import CURRENCIES

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_APPEND = "[]"
_OPTIONS = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__


def stripe_keys(typed_dict: Any) -> frozenset[str]:
    """The parameter names Stripe knows for a request (an SDK TypedDict), without the SDK's request options."""
    return frozenset((typed_dict.__required_keys__ | typed_dict.__optional_keys__) - _OPTIONS)


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest bracketed keys; raise a 400 for keys Stripe would also refuse (unbalanced brackets, clashes)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":
                if not last:
                    raise invalid(f"Invalid array: {key} (use explicit indexes such as [0])", param=key)
                if not isinstance(node, dict):
                    raise invalid(f"Invalid parameter: {key}", param=key)
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                if isinstance(node.get(part), dict):
                    raise invalid(
                        f"Invalid parameter: {key} is given both as a value and as an object", param=key
                    )
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(
                        f"Invalid parameter: {key} is given both as a value and as an object", param=key
                    )
                node = child
    return root


def decode_query(text: str) -> dict[str, Any]:
    return decode(parse_qsl(text, keep_blank_values=True))


def bracket(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if path else str(key)


def reject_unknown(
    params: Mapping[str, Any], allowed: Iterable[str], path: str = "", stripe_knows: Iterable[str] = ()
) -> None:
    """400 parameter_unknown for the first key not in `allowed` (saying so when Stripe itself knows it)."""
    allowed_set = set(allowed)
    known = set(stripe_knows)
    for key in params:
        if key not in allowed_set:
            raise unknown_param(bracket(path, key), known_to_stripe=key in known)


def as_object(value: Any, path: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid object: {path} must be a hash (e.g. {path}[key]=value)", param=path)
    return value


def as_list(value: Any, path: str) -> list[Any]:
    if value is None or value == "":
        return []
    if not isinstance(value, dict) or not all(k.isdigit() for k in value):
        raise invalid(f"Invalid array: {path} must be a list (e.g. {path}[0]=...)", param=path)
    indexes = sorted(int(k) for k in value)
    if indexes != list(range(len(indexes))):
        raise invalid(f"Invalid array: the indexes of {path} must count up from 0", param=path)
    return [value[str(i)] for i in indexes]


def as_string(
    value: Any, path: str, *, max_length: int = 5000, required: bool = False, allow_empty: bool = False
) -> str | None:
    if value is None:
        if required:
            raise missing_param(path)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {path} must be a string, not an object", param=path)
    if value == "" and not allow_empty:
        if required:
            raise invalid(
                f"You passed an empty string for '{path}'. We assume empty values are an attempt to "
                f"unset a parameter; however '{path}' cannot be unset. You should remove '{path}' from "
                "your request or supply a non-empty value.",
                param=path,
                code="parameter_invalid_empty",
            )
        return None
    if len(value) > max_length:
        raise invalid(f"Invalid string: {path} must be at most {max_length} characters", param=path)
    return value


def as_int(
    value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None, required: bool = False
) -> int | None:
    """Integers only: "12.5" or "1e3" are refused like Stripe refuses them (money is integer minor units)."""
    text = as_string(value, path, required=required, max_length=32)
    if text is None:
        return None
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise invalid(f"Invalid integer: {text}", param=path, code="parameter_invalid_integer")
    number = int(text)
    if minimum is not None and number < minimum:
        raise invalid(
            f"This value must be greater than or equal to {minimum}.",
            param=path,
            code="parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            f"This value must be less than or equal to {maximum}.",
            param=path,
            code="parameter_invalid_integer",
        )
    return number


def as_metadata(value: Any, path: str = "metadata") -> dict[str, str]:
    """Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500."""
    data = as_object(value, path)
    if len(data) > 50:
        raise invalid(f"Invalid {path}: at most 50 keys are allowed", param=path)
    result: dict[str, str] = {}
    for key, item in data.items():
        if len(key) > 40:
            raise invalid(
                f"Invalid {path}: keys must be at most 40 characters ({key!r})", param=bracket(path, key)
            )
        text = as_string(item, bracket(path, key), max_length=500, allow_empty=True)
        if text:  # an empty value unsets the key on Stripe
            result[key] = text
    return result


def as_expand(value: Any) -> list[str]:
    return [
        as_string(item, f"expand[{i}]", required=True) or ""
        for i, item in enumerate(as_list(value, "expand"))
    ]


def as_bool(value: Any, path: str) -> bool | None:
    text = as_string(value, path)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise invalid(f"Invalid boolean: {text}", param=path)
    return text == "true"


def as_currency(value: Any, path: str) -> str:
    currency = (as_string(value, path, required=True) or "").lower()
    if currency not in CURRENCIES:
        raise invalid(f"Invalid currency: {currency}.", param=path)
    return currency
