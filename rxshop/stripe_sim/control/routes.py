"""The control API's route table: every /_sim endpoint, its method and its handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from rxshop.stripe_sim.control import events, sessions, settings
from rxshop.stripe_sim.control.common import Handler, endpoint

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator

TABLE: list[tuple[str, str, Handler]] = [
    ("/_sim/config", "GET", settings.get_config),
    ("/_sim/config", "POST", settings.set_config),
    ("/_sim/reset", "POST", settings.reset),
    ("/_sim/clock", "GET", settings.get_clock),
    ("/_sim/clock/advance", "POST", settings.advance_clock),
    ("/_sim/faults", "GET", settings.list_faults),
    ("/_sim/faults", "POST", settings.add_fault),
    ("/_sim/faults", "DELETE", settings.clear_faults),
    ("/_sim/sessions/{id}", "GET", sessions.show_session),
    ("/_sim/sessions/{id}/pay", "POST", sessions.pay),
    ("/_sim/sessions/{id}/decline", "POST", sessions.decline),
    ("/_sim/sessions/{id}/fail", "POST", sessions.fail),
    ("/_sim/sessions/{id}/expire", "POST", sessions.expire),
    ("/_sim/sessions/{id}/settle", "POST", sessions.settle),
    ("/_sim/events", "GET", events.list_events),
    ("/_sim/events/deliver", "POST", events.deliver),
    ("/_sim/events/{id}", "GET", events.show_event),
    ("/_sim/events/{id}/redeliver", "POST", events.redeliver),
    ("/_sim/webhooks/pause", "POST", events.pause),
    ("/_sim/webhooks/resume", "POST", events.resume),
]


def routes(sim: Simulator) -> list[Route]:
    """The control routes bound to `sim`."""
    return [Route(path, endpoint(sim, handler), methods=[method]) for path, method, handler in TABLE]
