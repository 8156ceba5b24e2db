"""Injected faults surface as the SDK's own exceptions; the SDK's retries plus idempotency recover from them."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe

from tests.fixtures.sim import SimServer


@pytest.mark.parametrize(
    "kind, exception, status",
    [
        ("500", stripe.APIError, 500),
        ("429", stripe.RateLimitError, 429),
        ("drop", stripe.APIConnectionError, None),
    ],
)
def test_each_fault_raises_the_sdks_exception(
    sim_server: SimServer, kind: str, exception: type, status: int | None
) -> None:
    client = sim_server.client()
    sim_server.control("faults", {"kind": kind, "count": 2})

    for _ in range(2):
        with pytest.raises(exception) as error:
            client.v1.checkout.sessions.create(sim_server.session_params())
        assert error.value.http_status == status
    assert client.v1.checkout.sessions.list().data == []  # the faults hit before anything was created
    assert sim_server.control("faults")["faults"] == []


@pytest.mark.parametrize(
    "kind, exception",
    [("500", stripe.APIError), ("429", stripe.RateLimitError), ("drop", stripe.APIConnectionError)],
)
async def test_each_fault_raises_the_sdks_exception_async(
    sim_server: SimServer, kind: str, exception: type
) -> None:
    sim_server.control("faults", {"kind": kind, "count": 1})
    with pytest.raises(exception):
        await sim_server.client().v1.checkout.sessions.list_async()
    assert (await sim_server.client().v1.checkout.sessions.list_async()).object == "list"


def test_latency_fault_delays_only_the_next_n_requests(sim_server: SimServer) -> None:
    client = sim_server.client()
    sim_server.control("faults", {"kind": "latency", "count": 1, "latency_ms": 300})

    started = time.perf_counter()
    client.v1.checkout.sessions.list()
    delayed = time.perf_counter() - started
    started = time.perf_counter()
    client.v1.checkout.sessions.list()
    normal = time.perf_counter() - started
    assert delayed >= 0.3
    assert normal < delayed


def test_latency_hits_the_sdk_timeout_as_a_connection_error(sim_server: SimServer) -> None:
    sim_server.control("faults", {"kind": "latency", "count": 1, "latency_ms": 1500})
    client = sim_server.client(http_client=stripe.RequestsClient(timeout=0.3))
    with pytest.raises(stripe.APIConnectionError):
        client.v1.checkout.sessions.list()


def test_faults_do_not_touch_the_hosted_page_or_control_api(sim_server: SimServer) -> None:
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control("faults", {"kind": "500", "count": 1})
    assert httpx.get(session.url).status_code == 200
    assert sim_server.control("faults")["faults"] == [{"kind": "500", "remaining": 1, "latency_ms": 0}]
    sim_server.control("faults", method="DELETE")
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).id == session.id


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_sdk_retries_recover_and_the_idempotency_key_prevents_a_duplicate(
    sim_server: SimServer, kind: str
) -> None:
    sim_server.control("faults", {"kind": kind, "count": 1})
    client = sim_server.client(max_network_retries=2)
    session = client.v1.checkout.sessions.create(
        sim_server.session_params(), {"idempotency_key": f"retry-{kind}"}
    )
    assert session.status == "open"
    assert [s.id for s in client.v1.checkout.sessions.list().data] == [session.id]


def test_faults_are_used_up_in_the_order_they_were_added(sim_server: SimServer) -> None:
    client = sim_server.client()
    sim_server.control("faults", {"kind": "429", "count": 1})
    sim_server.control("faults", {"kind": "500", "count": 1})
    with pytest.raises(stripe.RateLimitError):
        client.v1.checkout.sessions.list()
    with pytest.raises(stripe.APIError):
        client.v1.checkout.sessions.list()
    assert client.v1.checkout.sessions.list().object == "list"


def test_constant_latency_setting_applies_to_v1_only(sim_server: SimServer) -> None:
    sim_server.control("config", {"latency_ms": 200})
    started = time.perf_counter()
    sim_server.client().v1.checkout.sessions.list()
    assert time.perf_counter() - started >= 0.2
    sim_server.control("config", {"latency_ms": 0})


def test_a_stored_500_is_replayed_for_its_key_and_a_new_key_succeeds(sim_server: SimServer) -> None:
    """Stripe saves a 500 that happened inside the API under the idempotency key (its docs: "including
    500 errors"): the SDK's own retries with that key get the same 500."""
    client = sim_server.client(max_network_retries=2)
    sim_server.control("faults", {"kind": "500-stored", "count": 1})
    params = sim_server.session_params()
    for _ in range(2):
        with pytest.raises(stripe.APIError) as error:
            client.v1.checkout.sessions.create(params, {"idempotency_key": "stored-500"})
        assert error.value.http_status == 500
        assert error.value.headers.get("idempotent-replayed") == "true"  # the retries got the saved 500
    assert client.v1.checkout.sessions.list().data == []
    created = client.v1.checkout.sessions.create(params, {"idempotency_key": "stored-500-next"})
    assert [s.id for s in client.v1.checkout.sessions.list().data] == [created.id]
    # Without a key there is nothing to save: the next request runs.
    sim_server.control("faults", {"kind": "500-stored", "count": 1})
    with pytest.raises(stripe.APIError):
        client.v1.checkout.sessions.create(params)
    assert client.v1.checkout.sessions.create(params).status == "open"
