"""CheckoutState: the Buy button. A background event, so a slow payment service stalls no one else.

Buy reads the visitor's cart from the database (rxshop.orders.carts), never from the browser and not from
this tab's copy either: another tab may have changed it a moment ago, or a payment emptied it.
"""

import asyncio
import json
import logging

import reflex as rx

from rxshop.core.settings import get_settings
from rxshop.domain.cart import InvalidQuantity
from rxshop.domain.catalog import UnknownProduct
from rxshop.domain.identity import is_visitor_id
from rxshop.orders import carts
from rxshop.orders.checkout import CheckoutRefused, start_checkout
from rxshop.payments.gateway import PaymentError, get_gateway
from rxshop.state.cart import CartState
from rxshop.state.visitor import checked_visitor_id

log = logging.getLogger(__name__)

_UNEXPECTED = "Something went wrong on our side. Your cart is kept; please try again."


class CheckoutState(rx.State):
    busy: bool = False  # a checkout is being created: Buy is disabled and shows progress
    error: str = ""

    @rx.event
    def reset_progress(self):
        """On page load (also after Back from Stripe): never leave Buy stuck in its busy state."""
        self.busy = False

    @rx.event(background=True)
    async def buy(self):
        """Create (or reuse) the order's Checkout Session and send this tab to Stripe's page."""
        # The cart is read while this tab's state is locked and loaded: two waits at once, not one after the
        # other (the router, the connection's credential and address, is readable without the lock).
        visitor_id = checked_visitor_id(self.router)
        reading = asyncio.ensure_future(carts.fetch_cart(visitor_id)) if is_visitor_id(visitor_id) else None
        async with self:
            if self.busy:
                if reading is not None:
                    reading.cancel()
                return
            client_ip = self.router.session.client_ip  # the proxy-aware address (trusted_proxy_hops)
            self.busy = True
            if self.error:  # setting a var sends it in the delta, changed or not
                self.error = ""
        quantities: dict[str, int] = {}
        try:
            if reading is not None:  # else start_checkout refuses with the right words
                quantities = await reading
            started = await start_checkout(
                visitor_id=visitor_id,
                quantities=quantities,
                gateway=get_gateway(),
                settings=get_settings(),
                client_ip=client_ip or None,
            )
        except (CheckoutRefused, InvalidQuantity, UnknownProduct, PaymentError) as err:
            async with self:
                self.busy = False
                self.error = str(err)
                if is_visitor_id(visitor_id):  # e.g. "empty": show the cart as it was read
                    (await self.get_state(CartState))._show(quantities)
            return
        except Exception:
            log.exception("Starting a checkout failed")
            async with self:
                self.busy = False
                self.error = _UNEXPECTED
            return
        # No third state round trip to clear `busy`: this tab leaves for Stripe's page now, and the page
        # it comes back to (Back, the cancel URL) runs reset_progress on load.
        # A full page load in the same tab (the client token survives, so the buyer comes back to this
        # very state). Not rx.redirect: for a same-host URL (the built-in simulator) it would route
        # inside the single-page app and show its 404.
        return rx.call_script(f"window.location.assign({json.dumps(started.url)})")
