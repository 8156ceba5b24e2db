"""The visitor credential: only what this server signed, recently enough, names a visitor."""

import pytest

from rxshop.domain.identity import (
    COOKIE_NAME,
    CREDENTIAL_LIFETIME,
    credential_from_cookies,
    issue_credential,
    new_visitor_id,
    read_credential,
)

KEY = b"k" * 32
NOW = 1_800_000_000
VISITOR = "0123456789abcdef0123456789abcdef"


def test_a_credential_names_its_visitor_and_when_it_was_issued():
    credential = read_credential(issue_credential(VISITOR, key=KEY, now=NOW), key=KEY, now=NOW + 10)
    assert credential is not None and (credential.visitor_id, credential.issued_at) == (VISITOR, NOW)
    assert not credential.needs_refresh(NOW + 3600) and credential.needs_refresh(NOW + 2 * 86400)


def test_new_visitor_ids_are_random_hex():
    ids = {new_visitor_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize(
    "value",
    [
        VISITOR,  # a bare id, as the old localStorage held it: never issued as a credential
        "0" * 32,
        "",
        None,
        42,
        f"v1.{VISITOR}.{NOW}.{'0' * 64}",  # a made-up signature
        issue_credential(VISITOR, key=b"another key" * 3, now=NOW),  # signed by someone else
        issue_credential(VISITOR, key=KEY, now=NOW).replace(VISITOR, "f" * 32),  # another visitor's id
        issue_credential(VISITOR, key=KEY, now=NOW).replace(f".{NOW}.", f".{NOW + 1}."),  # re-dated
        issue_credential(VISITOR, key=KEY, now=NOW) + "0",
    ],
)
def test_anything_this_server_did_not_sign_is_refused(value):
    assert read_credential(value, key=KEY, now=NOW) is None


def test_credentials_expire_and_never_come_from_the_future():
    value = issue_credential(VISITOR, key=KEY, now=NOW)
    assert read_credential(value, key=KEY, now=NOW + CREDENTIAL_LIFETIME.total_seconds() - 1) is not None
    assert read_credential(value, key=KEY, now=NOW + CREDENTIAL_LIFETIME.total_seconds()) is None
    assert read_credential(value, key=KEY, now=NOW - 3600) is None


def test_the_credential_is_found_among_other_cookies():
    value = issue_credential(VISITOR, key=KEY, now=NOW)
    header = f"theme=dark; {COOKIE_NAME}={value}; other=1"
    credential = credential_from_cookies(header, key=KEY, now=NOW)
    assert credential is not None and credential.visitor_id == VISITOR
    for header in ("", None, "theme=dark", f"{COOKIE_NAME}=", 'bad="unterminated'):
        assert credential_from_cookies(header, key=KEY, now=NOW) is None


def test_only_visitor_ids_can_be_signed():
    with pytest.raises(ValueError):
        issue_credential("not-an-id", key=KEY, now=NOW)
