"""Signed double-submit tokens of the login form (pure)."""

from __future__ import annotations

from identity.domain import login_csrf as csrf

from .conftest import SeededRandom

KEY = b"k" * 32
NOW = 1_700_000_000


def test_a_token_fits_only_its_cookie_request_key_and_age() -> None:
    cookie = csrf.new_cookie_value(SeededRandom())
    binding = csrf.request_binding([("client_id", "t.x"), ("state", "s1")])
    token = csrf.issue_form_token(KEY, cookie, binding, NOW)

    def ok(**overrides: object) -> bool:
        args: dict[str, object] = {
            "cookie_value": cookie,
            "token": token,
            "binding": binding,
            "now": NOW + 10,
            "max_age": 3600,
        }
        args.update(overrides)
        key = args.pop("key", KEY)
        return csrf.verify_form_token(key, **args)  # type: ignore[arg-type]

    assert ok()
    assert not ok(cookie_value=None)
    assert not ok(cookie_value=csrf.new_cookie_value(SeededRandom(8)))
    assert not ok(token=None) and not ok(token="") and not ok(token="garbage")
    assert not ok(token=f"{NOW}.{'0' * 64}")
    assert not ok(binding=csrf.request_binding([("client_id", "t.x"), ("state", "s2")]))
    assert not ok(key=b"other-key" * 4)
    assert not ok(now=NOW + 3601)
    assert not ok(now=NOW - 3600)  # issued in the future


def test_binding_ignores_parameter_order_and_cookie_values_are_checked() -> None:
    assert csrf.request_binding([("a", "1"), ("b", "2")]) == csrf.request_binding(
        [("b", "2"), ("a", "1")]
    )
    assert csrf.is_cookie_value(csrf.new_cookie_value(SeededRandom()))
    assert not csrf.is_cookie_value("short")
    assert not csrf.is_cookie_value("x" * 40 + ";")
    assert not csrf.is_cookie_value(None)
