"""The per-address bound on Checkout Session requests (checkout._ClientThrottle), without Stripe or a database."""

from rxshop.orders.checkout import CHECKOUT_WINDOW_SECONDS, _ClientThrottle


def test_each_address_gets_its_limit_per_window_then_a_fresh_one():
    throttle = _ClientThrottle(limit=3)
    start = 1_000 * CHECKOUT_WINDOW_SECONDS
    assert [throttle.allow("203.0.113.9", start + i) for i in range(4)] == [True, True, True, False]
    assert throttle.allow("203.0.113.10", start + 5)  # another address is not affected
    assert throttle.allow("203.0.113.9", start + CHECKOUT_WINDOW_SECONDS)  # the next window starts afresh
