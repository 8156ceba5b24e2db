"""The hosted checkout page driven over HTTP like a browser without JavaScript (httpx form posts)."""

from __future__ import annotations

import re

import httpx
import pytest
import stripe

from rxshop.stripe_sim import cards
from tests.fixtures.sim import SimServer


def _open_session(sim_server: SimServer, **overrides):
    return sim_server.client().v1.checkout.sessions.create(sim_server.session_params(**overrides))


def _pay(url: str, card: str = "4242 4242 4242 4242", email: str = "buyer@example.com", **extra: str):
    return httpx.post(url, data={"email": email, "card_number": card, **extra})


def test_page_shows_the_order_and_an_accessible_form(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    page = httpx.get(session.url)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    assert "Test checkout — simulated, no money moves" in html
    assert "<main" in html and "<h1>Pay 29.00 USD</h1>" in html
    assert "Enamel mug" in html and "× 2" in html and "25.00 USD" in html and "Sticker" in html
    assert 'role="alert"' in html and 'aria-live="assertive"' in html
    for field_id, label in (("email", "Email"), ("card_number", "Card number"), ("name", "Name on card")):
        assert f'<label for="{field_id}">{label}' in html
        assert f'id="{field_id}"' in html
    assert re.search(r'<button type="submit" class="primary">Pay</button>', html)
    assert ">Cancel</button>" in html
    assert f'action="{sim_server.url}/pay/{session.id}"' in html
    assert 'name="viewport"' in html and ":focus-visible" in html


def test_successful_card_redirects_303_with_the_session_id_filled_in(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    response = _pay(session.url, name="Ada Lovelace")

    assert response.status_code == 303
    assert response.headers["location"] == f"http://shop.test/checkout/success?session_id={session.id}"
    paid = sim_server.client().v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert paid.payment_intent.id.startswith("pi_") and paid.payment_intent.status == "succeeded"
    assert paid.payment_intent.amount_received == 2900
    assert paid.customer_details.email == "buyer@example.com"
    assert paid.customer_details.name == "Ada Lovelace"


@pytest.mark.parametrize(
    "card", [c for c in cards.TEST_CARDS if c.outcome == "declines"], ids=lambda c: c.decline_code
)
def test_declined_cards_rerender_with_the_message_and_keep_the_session_open(
    sim_server: SimServer, card: cards.TestCard
) -> None:
    session = _open_session(sim_server)
    response = _pay(session.url, card=cards.spaced(card.number))

    assert response.status_code == 402
    alert = re.search(
        r'<div id="alert" class="alert" role="alert" aria-live="assertive">(.*?)</div>', response.text
    )
    assert alert and alert.group(1) == card.message
    assert 'aria-invalid="true"' in response.text
    assert 'value="buyer@example.com"' in response.text  # what the buyer typed is kept
    still = sim_server.client().v1.checkout.sessions.retrieve(session.id)
    assert (still.status, still.payment_status, still.payment_intent) == ("open", "unpaid", None)
    assert _pay(session.url).status_code == 303  # another card still works


def test_the_two_named_declines_use_stripes_wording(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    assert "Your card was declined." in _pay(session.url, card="4000 0000 0000 0002").text
    assert "Your card has insufficient funds." in _pay(session.url, card="4000000000009995").text
    attempts = sim_server.control(f"sessions/{session.id}")["attempts"]
    assert [a["decline_code"] for a in attempts] == ["generic_decline", "insufficient_funds"]


@pytest.mark.parametrize("card", ["5555 5555 5555 4444", "3782 822463 10005", "4000-0566-5566-5556"])
def test_any_other_well_formed_number_pays(sim_server: SimServer, card: str) -> None:
    session = _open_session(sim_server)
    assert _pay(session.url, card=card).status_code == 303
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


@pytest.mark.parametrize(
    "form, field",
    [
        ({"email": "buyer@example.com", "card_number": "4242 4242 4242 4241"}, "card_number"),  # fails Luhn
        ({"email": "buyer@example.com", "card_number": "4242"}, "card_number"),
        ({"email": "buyer@example.com", "card_number": "abcd efgh ijkl mnop"}, "card_number"),
        ({"email": "", "card_number": "4242424242424242"}, "email"),
        ({"email": "nobody", "card_number": "4242424242424242"}, "email"),
    ],
)
def test_malformed_input_is_a_field_error(sim_server: SimServer, form: dict, field: str) -> None:
    session = _open_session(sim_server)
    response = httpx.post(session.url, data=form)

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*{field}-error', response.text
    )
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).status == "open"


def test_cancel_redirects_303_to_cancel_url_and_leaves_the_session_open(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    response = httpx.post(f"{session.url}/cancel")
    assert response.status_code == 303
    assert response.headers["location"] == "http://shop.test/checkout/cancel"
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).status == "open"


def test_without_cancel_url_there_is_no_cancel_button(sim_server: SimServer) -> None:
    params = sim_server.session_params()
    del params["cancel_url"]
    session = sim_server.client().v1.checkout.sessions.create(params)
    assert ">Cancel</button>" not in httpx.get(session.url).text


def test_paid_session_page_says_so_and_a_second_pay_charges_nothing(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    assert _pay(session.url).status_code == 303
    intent = sim_server.client().v1.checkout.sessions.retrieve(session.id).payment_intent

    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "Payment received" in page.text and "<form" not in page.text
    assert f"session_id={session.id}" in page.text  # link back to the shop

    again = _pay(session.url, card="4000 0000 0000 0002")
    assert again.status_code == 303
    assert again.headers["location"].endswith(session.id)
    after = sim_server.client().v1.checkout.sessions.retrieve(session.id)
    assert after.payment_intent == intent
    assert len(sim_server.events("checkout.session.completed")) == 1


@pytest.mark.parametrize("how", ["api", "clock"])
def test_expired_session_page_says_expired_and_refuses_payment(sim_server: SimServer, how: str) -> None:
    session = _open_session(sim_server)
    if how == "api":
        sim_server.client().v1.checkout.sessions.expire(session.id)
    else:
        sim_server.control("clock/advance", {"seconds": 24 * 3600 + 1})

    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "This checkout has expired" in page.text and "<form" not in page.text
    response = _pay(session.url)
    assert response.status_code == 410
    assert "This checkout has expired" in response.text
    after = sim_server.client().v1.checkout.sessions.retrieve(session.id)
    assert (after.status, after.payment_intent) == ("expired", None)


def test_unknown_session_page_is_404(sim_server: SimServer) -> None:
    assert httpx.get(f"{sim_server.url}/pay/cs_test_nope").status_code == 404
    assert _pay(f"{sim_server.url}/pay/cs_test_nope").status_code == 404


def test_user_supplied_text_is_escaped(sim_server: SimServer) -> None:
    evil = '<script>alert("x")</script>'
    lines = [
        {
            "quantity": 1,
            "price_data": {
                "currency": "usd",
                "unit_amount": 1000,
                "product_data": {"name": evil, "description": "<img src=x onerror=alert(1)>"},
            },
        }
    ]
    session = _open_session(
        sim_server, line_items=lines, cancel_url='http://shop.test/c?a="><script>x</script>'
    )
    html = httpx.get(session.url).text
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    response = _pay(session.url, card="4242", email='"><script>y</script>')  # echoed back after an error
    assert "<script>" not in response.text
    sim_server.client().v1.checkout.sessions.expire(session.id)
    assert "<script>" not in httpx.get(session.url).text  # the expired page links to cancel_url


def test_customer_email_is_prefilled_and_locked(sim_server: SimServer) -> None:
    session = _open_session(sim_server, customer_email="fixed@example.com")
    assert re.search(r'id="email"[^>]*value="fixed@example.com"[^>]*readonly', httpx.get(session.url).text)
    _pay(session.url, email="other@example.com")
    assert (
        sim_server.client().v1.checkout.sessions.retrieve(session.id).customer_details.email
        == "fixed@example.com"
    )


def test_declined_card_through_the_control_api(sim_server: SimServer) -> None:
    session = _open_session(sim_server)
    result = sim_server.control(f"sessions/{session.id}/decline", {"reason": "insufficient_funds"})
    assert result["outcome"] == "declined"
    assert result["decline"]["message"] == "Your card has insufficient funds."
    paid = sim_server.control(f"sessions/{session.id}/pay", {"card": "4242424242424242"})
    assert paid["outcome"] == "paid"
    assert paid["redirect_url"].endswith(session.id)
    again = sim_server.control(f"sessions/{session.id}/pay", {}, expect=409)
    assert "nothing was charged" in again["error"]["message"]
    with pytest.raises(stripe.InvalidRequestError):
        sim_server.client().v1.checkout.sessions.expire(session.id)


@pytest.mark.parametrize("param", ["success_url", "cancel_url"])
@pytest.mark.parametrize(
    "url",
    [
        "http://shop.test\\@evil.test/checkout/success",  # browsers read `\` as `/`: the host would be evil.test
        "http://shop.test/\\\\evil.test/",
        "http://shop.test/checkout/success\x00",
        "http://shop.test/check\tout",
        "http://shop.test/checkout\r\nSet-Cookie: x=1",
        "http://shop.test/a\x1fb",
        "http://shop.test/a\x7fb",
        "http://shop.test/a\x85b",
        "http://shop.test/a b",
    ],
)
def test_redirect_urls_with_backslashes_or_control_characters_are_refused(
    sim_server: SimServer, param: str, url: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sim_server.client().v1.checkout.sessions.create(sim_server.session_params(**{param: url}))
    assert (refused.value.http_status, refused.value.param, refused.value.code) == (400, param, "url_invalid")
    assert sim_server.client().v1.checkout.sessions.list().data == []  # nothing was created


def test_the_links_the_simulator_writes_are_percent_encoded(sim_server: SimServer) -> None:
    session = _open_session(
        sim_server,
        success_url='http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}&n="><b>é',
        cancel_url="http://shop.test/checkout/cancel?from='x'<i>ü",
    )
    cancel = "http://shop.test/checkout/cancel?from='x'%3Ci%3E%C3%BC"
    left = httpx.post(f"{session.url}/cancel")
    assert left.status_code == 303 and left.headers["location"] == cancel

    paid = _pay(session.url)
    success = f"http://shop.test/checkout/success?session_id={session.id}&n=%22%3E%3Cb%3E%C3%A9"
    assert paid.status_code == 303 and paid.headers["location"] == success
    page = httpx.get(session.url).text  # "Payment received", with its link back to the shop
    assert f'href="{success.replace("&", "&amp;")}"' in page
    assert "<b>" not in page

    expired = _open_session(sim_server, cancel_url="http://shop.test/back?q=<ü>")
    sim_server.client().v1.checkout.sessions.expire(expired.id)
    assert 'href="http://shop.test/back?q=%3C%C3%BC%3E"' in httpx.get(expired.url).text
