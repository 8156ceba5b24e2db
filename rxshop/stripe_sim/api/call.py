"""What a /v1 operation is: a synchronous function from a decoded call to a status and a Stripe object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    """What an operation gets: decoded params, path params and what events should cite as their request."""

    params: dict[str, Any]
    path: dict[str, str]
    request: dict[str, Any]


Result = tuple[int, dict[str, Any]]
Operation = Callable[[Call], Result]
