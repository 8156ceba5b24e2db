"""SiteState: facts about this deployment that pages show, read on the server at run time.

Not at build time: `reflex export` bakes page code once, and the same export may run with or without keys.
"""

import reflex as rx

from rxshop.core.settings import get_settings


class SiteState(rx.State):
    @rx.var
    def payments_simulated(self) -> bool:
        """True when payments go to a simulator, not to Stripe (every page then says so)."""
        return get_settings().simulated

    @rx.var
    def mailbox_url(self) -> str:
        """The built-in mailbox's page when email goes there (development), else "" (every page says so)."""
        return get_settings().mailbox_url
