from __future__ import annotations

from datetime import timedelta

import pytest
from social_map.domain.freshness import verify
from social_map.domain.verification_token import TokenError, TokenProblem, check, issue
from social_map_testkit import NOW, make_entry

SECRET = b"k" * 32


def _problem(token: str, tenant: str = "demo", **kw: object) -> TokenProblem:
    entry = kw.pop("entry", make_entry())
    with pytest.raises(TokenError) as exc:
        check(SECRET, token, tenant, entry, kw.pop("now", NOW))  # type: ignore[arg-type]
    return exc.value.problem


def test_valid_token_passes() -> None:
    e = make_entry()
    token = issue(SECRET, "demo", e, NOW + timedelta(days=14))
    check(SECRET, token, "demo", e, NOW + timedelta(days=13))


def test_expired_token_fails() -> None:
    token = issue(SECRET, "demo", make_entry(), NOW + timedelta(days=14))
    assert _problem(token, now=NOW + timedelta(days=14)) is TokenProblem.EXPIRED


def test_token_fails_after_verification_or_change() -> None:
    e = make_entry()
    token = issue(SECRET, "demo", e, NOW + timedelta(days=14))
    assert (
        _problem(token, entry=verify(e, "x", NOW + timedelta(hours=1)))
        is TokenProblem.ENTRY_CHANGED
    )
    changed = e.model_copy(update={"revision": e.revision + 1, "name": "Andere naam"})
    assert _problem(token, entry=changed) is TokenProblem.ENTRY_CHANGED


def test_other_tenant_or_entry_fails() -> None:
    token = issue(SECRET, "demo", make_entry(), NOW + timedelta(days=14))
    assert _problem(token, tenant="zaanstreek") is TokenProblem.WRONG_ENTRY
    assert _problem(token, entry=make_entry(id="e2")) is TokenProblem.WRONG_ENTRY


def test_tampering_and_garbage() -> None:
    token = issue(SECRET, "demo", make_entry(), NOW + timedelta(days=14))
    v, body, sig = token.split(".")
    forged = issue(SECRET, "demo", make_entry(), NOW + timedelta(days=999)).split(".")[1]
    assert _problem(f"{v}.{forged}.{sig}") is TokenProblem.BAD_SIGNATURE
    assert _problem(f"{v}.{body}.{sig[:-2]}AA") is TokenProblem.BAD_SIGNATURE
    with pytest.raises(TokenError) as exc:
        check(b"x" * 32, token, "demo", make_entry(), NOW)
    assert exc.value.problem is TokenProblem.BAD_SIGNATURE
    for junk in ["", "v1", "v2.a.b", "v1.a.b.c", "v1.!!.??"]:
        assert _problem(junk) in (TokenProblem.MALFORMED, TokenProblem.BAD_SIGNATURE)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        issue(b"short", "demo", make_entry(), NOW)
