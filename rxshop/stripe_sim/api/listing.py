"""One page of a list, the way Stripe pages with cursors (`starting_after`, `ending_before`, `limit`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from rxshop.stripe_sim.errors import no_such
from rxshop.stripe_sim.params.lists import ListParams


def page_of(
    items: list[dict[str, Any]],
    paging: ListParams,
    url: str,
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """One page of `items` (already in list order), the way Stripe pages with cursors."""
    ids = [item["id"] for item in items]
    if paging.starting_after is not None:
        if paging.starting_after not in ids:
            raise no_such(_object_name(url), paging.starting_after, param="starting_after")
        candidates = [i for i in items[ids.index(paging.starting_after) + 1 :] if keep(i)]
        page, has_more = candidates[: paging.limit], len(candidates) > paging.limit
    elif paging.ending_before is not None:
        if paging.ending_before not in ids:
            raise no_such(_object_name(url), paging.ending_before, param="ending_before")
        candidates = [i for i in items[: ids.index(paging.ending_before)] if keep(i)]
        page, has_more = candidates[-paging.limit :], len(candidates) > paging.limit
    else:
        candidates = [i for i in items if keep(i)]
        page, has_more = candidates[: paging.limit], len(candidates) > paging.limit
    return {"object": "list", "data": copy.deepcopy(page), "has_more": has_more, "url": url}


def _object_name(url: str) -> str:
    return "line_item" if url.endswith("/line_items") else "checkout.session"
