"""VisitorState: the browser's random visitor id, which owns its orders. Needs only the pure identity rule."""

import reflex as rx

from rxshop.identity import is_visitor_id, new_visitor_id


class VisitorState(rx.State):
    # Kept in the browser's localStorage and shared by its tabs. Set by the client, so never trusted:
    # every use goes through `_checked_id`.
    visitor_id: str = rx.LocalStorage("", name="rxshop_visitor", sync=True)

    @rx.event
    def ensure(self):
        """Give a first-time (or tampered-with) browser a fresh, unguessable id."""
        if not is_visitor_id(self.visitor_id):
            self.visitor_id = new_visitor_id()

    def _checked_id(self) -> str:
        """The visitor id if well-formed, else "" (callers then refuse to act)."""
        return self.visitor_id if is_visitor_id(self.visitor_id) else ""
