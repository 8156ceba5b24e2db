"""The states of "find my orders", the order link and the owner's Messages refuse forged input from the
browser before anything is read, sent or counted (a forged websocket event calls them like this)."""

import pytest

from rxshop.state.admin_messages import AdminMessagesState
from rxshop.state.find_orders import FindOrdersState
from rxshop.state.order_link import OrderLinkState


@pytest.mark.parametrize(
    "form",
    [{}, {"email": ""}, {"email": "nope"}, {"email": ["a@b.example"]}, {"email": "a@b.c" * 100}, None, "x"],
)
async def test_a_bad_address_is_refused_with_a_sentence(form):
    state = FindOrdersState(_reflex_internal_init=True)
    await state.request_code(form)
    assert state.error.startswith("Enter the email address you used at checkout")
    assert state.code_sent_to == "" and state.notice == ""


async def test_without_the_shop_cookie_no_code_is_asked_for():
    state = FindOrdersState(_reflex_internal_init=True)
    await state.request_code({"email": "ada@example.com"})  # no credential in this connection
    assert "no shop cookie" in state.error and state.code_sent_to == ""


@pytest.mark.parametrize(
    "form", [{}, {"code": "12345"}, {"code": "abcdef"}, {"code": "1234567"}, {"code": 123456}, None]
)
async def test_a_code_that_is_not_six_digits_is_refused_before_it_is_tried(form):
    state = FindOrdersState(_reflex_internal_init=True)
    await state.check_code(form)
    assert state.error == "Enter the 6 digits from the email." and state.orders == []


async def test_a_forged_order_link_state_shows_nothing():
    state = OrderLinkState(_reflex_internal_init=True)
    await state._push("ord_anything")  # no link opened in this tab: nothing read
    assert state.orders == [] and state._token == ""


@pytest.mark.parametrize("message_id", ["1", -1, 0, 1.5, True, None, [1]])
async def test_a_forged_message_id_is_refused(message_id):
    state = AdminMessagesState(_reflex_internal_init=True)
    await state.resend(message_id)
    assert state.result == "" and state.rows == []
