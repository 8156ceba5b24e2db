"""The simulator's /v1 API driven by the real stripe SDK (and raw httpx where the SDK refuses to go)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import stripe

from tests.fixtures.sim import SimServer


def test_create_returns_an_open_session_shaped_like_stripes(sim_server: SimServer) -> None:
    client = sim_server.client()
    before = int(time.time())
    session = client.v1.checkout.sessions.create(
        sim_server.session_params(
            customer_email="buyer@example.com", payment_intent_data={"metadata": {"order_id": "order-1"}}
        )
    )

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{sim_server.url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert (session.amount_subtotal, session.amount_total, session.currency) == (2900, 2900, "usd")
    assert session.client_reference_id == "order-1"
    assert session.metadata.to_dict() == {"order_id": "order-1"}
    assert session.customer_email == "buyer@example.com"
    assert session.livemode is False
    assert session.payment_intent is None and session.customer_details is None
    assert before <= session.created <= int(time.time()) + 1
    assert session.expires_at == session.created + 24 * 3600
    assert "line_items" not in session  # only when expanded
    assert session.success_url == "http://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"


def test_retrieve_expand_line_items_and_product(sim_server: SimServer) -> None:
    client = sim_server.client()
    created = client.v1.checkout.sessions.create(sim_server.session_params())

    session = client.v1.checkout.sessions.retrieve(
        created.id, {"expand": ["line_items", "line_items.data.price.product", "payment_intent"]}
    )

    assert session.payment_intent is None
    lines = session.line_items.data
    assert [(li.description, li.quantity, li.amount_total) for li in lines] == [
        ("Enamel mug", 2, 2500),
        ("Sticker", 1, 400),
    ]
    first = lines[0]
    assert first.id.startswith("li_") and first.object == "item"
    assert (first.price.object, first.price.unit_amount, first.price.currency) == ("price", 1250, "usd")
    assert first.price.product.name == "Enamel mug"
    assert first.price.product.metadata["product_id"] == "mug"


def test_line_items_endpoint_pages_with_limit_and_starting_after(sim_server: SimServer) -> None:
    client = sim_server.client()
    lines = [
        {
            "quantity": i + 1,
            "price_data": {
                "currency": "eur",
                "unit_amount": 100 * (i + 1),
                "product_data": {"name": f"Item {i}"},
            },
        }
        for i in range(5)
    ]
    session = client.v1.checkout.sessions.create(sim_server.session_params(line_items=lines))

    first = client.v1.checkout.sessions.line_items.list(session.id, {"limit": 2})
    assert [li.description for li in first.data] == ["Item 0", "Item 1"] and first.has_more
    second = client.v1.checkout.sessions.line_items.list(
        session.id, {"limit": 2, "starting_after": first.data[-1].id}
    )
    assert [li.description for li in second.data] == ["Item 2", "Item 3"] and second.has_more
    assert [li.description for li in first.auto_paging_iter()] == [f"Item {i}" for i in range(5)]


def test_list_is_newest_first_with_pagination_filters_and_auto_paging(sim_server: SimServer) -> None:
    client = sim_server.client()
    ids = [
        client.v1.checkout.sessions.create(sim_server.session_params(client_reference_id=f"o{i}")).id
        for i in range(7)
    ]
    newest_first = list(reversed(ids))

    page = client.v1.checkout.sessions.list({"limit": 3})
    assert [s.id for s in page.data] == newest_first[:3] and page.has_more
    assert page.url == "/v1/checkout/sessions"
    assert [s.id for s in page.auto_paging_iter()] == newest_first

    after = client.v1.checkout.sessions.list({"limit": 3, "starting_after": newest_first[2]})
    assert [s.id for s in after.data] == newest_first[3:6]
    before = client.v1.checkout.sessions.list({"limit": 2, "ending_before": newest_first[4]})
    assert [s.id for s in before.data] == newest_first[2:4] and before.has_more

    assert client.v1.checkout.sessions.list().data.__len__() == 7  # default limit 10
    client.v1.checkout.sessions.expire(ids[0])
    assert [s.id for s in client.v1.checkout.sessions.list({"status": "expired"}).data] == [ids[0]]
    assert len(client.v1.checkout.sessions.list({"status": "open"}).data) == 6
    created = client.v1.checkout.sessions.retrieve(ids[0]).created
    assert len(client.v1.checkout.sessions.list({"created": {"gte": created, "lte": created + 60}}).data) == 7
    assert client.v1.checkout.sessions.list({"created": {"gt": created + 60}}).data == []


async def test_async_auto_paging_and_list_expand(sim_server: SimServer) -> None:
    client = sim_server.client()
    ids = [(await client.v1.checkout.sessions.create_async(sim_server.session_params())).id for _ in range(5)]

    page = await client.v1.checkout.sessions.list_async({"limit": 2, "expand": ["data.line_items"]})
    assert page.data[0].line_items.data[0].description == "Enamel mug"
    seen = [s.id async for s in page.auto_paging_iter()]
    assert seen == list(reversed(ids))


def test_expire_only_open_sessions(sim_server: SimServer) -> None:
    client = sim_server.client()
    session = client.v1.checkout.sessions.create(sim_server.session_params())

    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.checkout.sessions.expire(session.id)
    assert error.value.http_status == 400
    assert 'status of "expired"' in error.value.user_message

    paid = client.v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control(f"sessions/{paid.id}/pay", {})
    with pytest.raises(stripe.InvalidRequestError, match='status of "complete"'):
        client.v1.checkout.sessions.expire(paid.id)


@pytest.mark.parametrize(
    "object_kind, call",
    [
        ("checkout.session", lambda c: c.v1.checkout.sessions.retrieve("cs_test_missing")),
        ("checkout.session", lambda c: c.v1.checkout.sessions.expire("cs_test_missing")),
        ("checkout.session", lambda c: c.v1.checkout.sessions.line_items.list("cs_test_missing")),
        ("payment_intent", lambda c: c.v1.payment_intents.retrieve("pi_missing")),
        ("refund", lambda c: c.v1.refunds.retrieve("re_missing")),
        ("charge", lambda c: c.v1.charges.retrieve("ch_missing")),
    ],
)
def test_unknown_ids_are_404_resource_missing(sim_server: SimServer, object_kind: str, call) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        call(sim_server.client())
    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert error.value.param == "id"
    assert error.value.user_message.startswith(f"No such {object_kind}: '")


def test_unimplemented_endpoint_is_a_stripe_shaped_404(sim_server: SimServer) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL"):
        sim_server.client().v1.customers.list()


def _lines(**price_data) -> list[dict]:
    price = {"currency": "usd", "unit_amount": 1000, "product_data": {"name": "Thing"}} | price_data
    return [{"quantity": 1, "price_data": price}]


@pytest.mark.parametrize(
    "overrides, param, code",
    [
        ({"mode": None}, "mode", "parameter_missing"),
        ({"mode": "subscription"}, "mode", None),
        ({"mode": "bogus"}, "mode", None),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"line_items": []}, "line_items", "parameter_missing"),  # the SDK sends nothing for an empty list
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"success_url": "/checkout/success"}, "success_url", "url_invalid"),
        ({"success_url": "shop.test/ok"}, "success_url", "url_invalid"),
        ({"cancel_url": "ftp://shop.test/cancel"}, "cancel_url", "url_invalid"),
        ({"bogus": "1"}, "bogus", "parameter_unknown"),
        ({"payment_method_types": ["card"]}, "payment_method_types", "parameter_unknown"),
        (
            {"line_items": _lines(unit_amount=0)},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": _lines(unit_amount=-5)},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": _lines(unit_amount="12.50")},
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": [{"quantity": 0, "price_data": _lines()[0]["price_data"]}]},
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": [{"quantity": "two", "price_data": _lines()[0]["price_data"]}]},
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            {"line_items": [{"price_data": _lines()[0]["price_data"]}]},
            "line_items[0][quantity]",
            "parameter_missing",
        ),
        ({"line_items": _lines(currency="xyz")}, "line_items[0][price_data][currency]", None),
        ({"line_items": _lines(currency=None)}, "line_items[0][price_data][currency]", "parameter_missing"),
        (
            {"line_items": _lines(product_data={"description": "no name"})},
            "line_items[0][price_data][product_data][name]",
            "parameter_missing",
        ),
        ({"line_items": _lines(bogus="1")}, "line_items[0][price_data][bogus]", "parameter_unknown"),
        ({"line_items": _lines() + _lines(currency="eur")}, "line_items", None),
        ({"line_items": _lines(unit_amount=10)}, "line_items", "amount_too_small"),
        ({"line_items": _lines(unit_amount=99_999_999) * 2}, "line_items", "amount_too_large"),
        ({"customer_email": "not-an-email"}, "customer_email", "email_invalid"),
        (
            {"payment_intent_data": {"capture_method": "manual"}},
            "payment_intent_data[capture_method]",
            "parameter_unknown",
        ),
    ],
)
def test_invalid_create_params_are_400_invalid_request_error(
    sim_server: SimServer, overrides: dict, param: str, code: str | None
) -> None:
    params = {k: v for k, v in sim_server.session_params(**overrides).items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as error:
        sim_server.client().v1.checkout.sessions.create(params)
    assert error.value.http_status == 400
    assert error.value.param == param
    assert error.value.code == code
    assert error.value.error.type == "invalid_request_error"
    assert sim_server.client().v1.checkout.sessions.list().data == []  # nothing was created


@pytest.mark.parametrize(
    "offset, accepted", [(29 * 60, False), (31 * 60, True), (23 * 3600, True), (25 * 3600, False)]
)
def test_expires_at_must_be_30_minutes_to_24_hours_ahead(
    sim_server: SimServer, offset: int, accepted: bool
) -> None:
    params = sim_server.session_params(expires_at=int(time.time()) + offset)
    if accepted:
        assert sim_server.client().v1.checkout.sessions.create(params).expires_at == params["expires_at"]
    else:
        with pytest.raises(stripe.InvalidRequestError) as error:
            sim_server.client().v1.checkout.sessions.create(params)
        assert error.value.param == "expires_at"


def test_expires_at_is_judged_on_the_simulated_clock(sim_server: SimServer) -> None:
    now = sim_server.control("clock/advance", {"seconds": 3600})["now"]
    with pytest.raises(
        stripe.InvalidRequestError
    ):  # 90 min ahead of real time is only 30 min ago in sim time
        sim_server.client().v1.checkout.sessions.create(
            sim_server.session_params(expires_at=int(time.time()) + 90 * 60 - 3600)
        )
    session = sim_server.client().v1.checkout.sessions.create(
        sim_server.session_params(expires_at=now + 3600)
    )
    assert session.created >= now


def test_currency_codes_are_case_insensitive_and_zero_decimal_currencies_work(sim_server: SimServer) -> None:
    session = sim_server.client().v1.checkout.sessions.create(
        sim_server.session_params(line_items=_lines(currency="JPY", unit_amount=500))
    )
    assert (session.currency, session.amount_total) == ("jpy", 500)


def test_list_param_errors(sim_server: SimServer) -> None:
    client = sim_server.client()
    for params, param in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"status": "paid"}, "status"),
        ({"starting_after": "cs_test_nope"}, "starting_after"),
        ({"bogus": 1}, "bogus"),
        ({"expand": ["data.subscription"]}, "expand"),
    ]:
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.checkout.sessions.list(params)
        assert error.value.param == param, params


def test_unknown_expand_is_refused(sim_server: SimServer) -> None:
    client = sim_server.client()
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.checkout.sessions.create(sim_server.session_params(expand=["subscription"]))
    assert client.v1.checkout.sessions.list().data == []  # refused before anything was created


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer pk_test_123",
        "Bearer sk_live_123",
        "Bearer sk_test_",
        "Token sk_test_123",
        "Bearer sk_test_bad key",
    ],
)
def test_missing_or_malformed_keys_are_401(sim_server: SimServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.get(f"{sim_server.url}/v1/checkout/sessions", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"  # what Stripe itself answers on a 401
    assert "Request-Id" in response.headers


def test_sdk_raises_authentication_error_on_a_bad_key(sim_server: SimServer) -> None:
    with pytest.raises(stripe.AuthenticationError) as error:
        sim_server.client(api_key="sk_live_definitely_not").v1.checkout.sessions.list()
    assert error.value.http_status == 401
    with pytest.raises(stripe.AuthenticationError):
        sim_server.client(api_key="pk_test_publishable").v1.checkout.sessions.list()


def test_basic_auth_like_curl_u_is_accepted(sim_server: SimServer) -> None:
    response = httpx.get(f"{sim_server.url}/v1/checkout/sessions", auth=(sim_server.api_key, ""))
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_raw_form_encoding_with_empty_brackets_and_nested_keys(sim_server: SimServer) -> None:
    body = (
        "mode=payment&success_url=http%3A%2F%2Fshop.test%2Fok&line_items[0][quantity]=3"
        "&line_items[0][price_data][currency]=gbp&line_items[0][price_data][unit_amount]=250"
        "&line_items[0][price_data][product_data][name]=Tea%20%26%20biscuits&metadata[k]=v"
    )
    created = httpx.post(
        f"{sim_server.url}/v1/checkout/sessions",
        content=body,
        headers=sim_server.api_headers(**{"Content-Type": "application/x-www-form-urlencoded"}),
    )
    assert created.status_code == 200, created.text
    assert created.json()["amount_total"] == 750
    fetched = httpx.get(
        f"{sim_server.url}/v1/checkout/sessions/{created.json()['id']}?expand[]=line_items",
        headers=sim_server.api_headers(),
    )
    assert fetched.json()["line_items"]["data"][0]["description"] == "Tea & biscuits"


def test_idempotent_replay_returns_the_first_response(sim_server: SimServer) -> None:
    client = sim_server.client()
    params = sim_server.session_params()
    first = client.v1.checkout.sessions.create(params, {"idempotency_key": "order-1-attempt-1"})
    again = client.v1.checkout.sessions.create(params, {"idempotency_key": "order-1-attempt-1"})

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(client.v1.checkout.sessions.list().data) == 1

    other_key = client.v1.checkout.sessions.create(params, {"idempotency_key": "order-1-attempt-2"})
    assert other_key.id != first.id


def test_idempotency_key_with_different_params_is_an_idempotency_error(sim_server: SimServer) -> None:
    client = sim_server.client()
    client.v1.checkout.sessions.create(sim_server.session_params(), {"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError) as error:
        client.v1.checkout.sessions.create(
            sim_server.session_params(client_reference_id="other"), {"idempotency_key": "k1"}
        )
    assert error.value.http_status == 400
    assert error.value.error.type == "idempotency_error"
    with pytest.raises(stripe.IdempotencyError):  # same key on another endpoint
        client.v1.refunds.create({"payment_intent": "pi_x"}, {"idempotency_key": "k1"})


def test_idempotency_keys_are_scoped_per_api_key(sim_server: SimServer) -> None:
    params = sim_server.session_params()
    one = sim_server.client(api_key="sk_test_account_one").v1.checkout.sessions.create(
        params, {"idempotency_key": "shared"}
    )
    two = sim_server.client(api_key="sk_test_account_two").v1.checkout.sessions.create(
        params, {"idempotency_key": "shared"}
    )
    assert one.id != two.id


def test_failed_validation_is_not_saved_under_the_idempotency_key(sim_server: SimServer) -> None:
    client = sim_server.client()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(sim_server.session_params(bogus="x"), {"idempotency_key": "k2"})
    session = client.v1.checkout.sessions.create(sim_server.session_params(), {"idempotency_key": "k2"})
    assert session.status == "open"


async def test_100_concurrent_creations_are_distinct_and_retrievable(sim_server: SimServer) -> None:
    client = sim_server.client()

    async def create(i: int):
        return await client.v1.checkout.sessions.create_async(
            sim_server.session_params(client_reference_id=f"order-{i}", metadata={"i": str(i)})
        )

    sessions = await asyncio.wait_for(asyncio.gather(*(create(i) for i in range(100))), timeout=60)

    assert len({s.id for s in sessions}) == 100
    fetched = await asyncio.gather(*(client.v1.checkout.sessions.retrieve_async(s.id) for s in sessions))
    assert [f.client_reference_id for f in fetched] == [f"order-{i}" for i in range(100)]
    assert [f.metadata["i"] for f in fetched] == [str(i) for i in range(100)]
    listed = [
        s.id async for s in (await client.v1.checkout.sessions.list_async({"limit": 100})).auto_paging_iter()
    ]
    assert sorted(listed) == sorted(s.id for s in sessions)


async def test_concurrent_requests_with_one_idempotency_key_create_one_session(sim_server: SimServer) -> None:
    client = sim_server.client()
    params = sim_server.session_params()
    results = await asyncio.gather(
        *(client.v1.checkout.sessions.create_async(params, {"idempotency_key": "same"}) for _ in range(20))
    )
    assert len({r.id for r in results}) == 1
    assert len((await client.v1.checkout.sessions.list_async()).data) == 1
