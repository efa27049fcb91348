from __future__ import annotations

import re
from datetime import datetime, timedelta

from identity.domain.login_codes import (
    ALPHABET,
    hash_code,
    issue_login_code,
    normalise_code,
    redeem_login_code,
)
from identity.domain.randomness import RandomSource

PEPPER = b"test-pepper"


def test_code_format_and_alphabet(now: datetime, rng: RandomSource) -> None:
    code, record = issue_login_code(
        person_id="p-1", tenant="demo", created_by="prof-1", now=now, pepper=PEPPER, source=rng
    )
    assert re.fullmatch(
        r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}", code
    )
    assert not set("01OIL") & set(ALPHABET)
    assert (
        code not in record.model_dump_json()
        and code.replace("-", "") not in record.model_dump_json()
    )
    assert record.expires_at == now + timedelta(days=14)


def test_typed_variants_find_the_same_hash(now: datetime, rng: RandomSource) -> None:
    code, record = issue_login_code(
        person_id="p-1", tenant="demo", created_by="prof-1", now=now, pepper=PEPPER, source=rng
    )
    typed = " " + code.lower().replace("-", " ") + " "
    assert hash_code(typed, PEPPER) == record.code_hash
    assert hash_code(code, b"other-pepper") != record.code_hash
    assert normalise_code("O0I1-LLLL") is None
    assert normalise_code("ABC") is None


def test_single_use_and_expiry(now: datetime, rng: RandomSource) -> None:
    _, record = issue_login_code(
        person_id="p-1", tenant="demo", created_by="prof-1", now=now, pepper=PEPPER, source=rng
    )
    used = redeem_login_code(record, now=now + timedelta(days=1))
    assert used is not None and used.used_at == now + timedelta(days=1)
    assert redeem_login_code(used, now=now + timedelta(days=1, seconds=1)) is None
    assert redeem_login_code(record, now=now + timedelta(days=14)) is None
    assert redeem_login_code(None, now=now) is None
