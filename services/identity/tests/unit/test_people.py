from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from identity.domain.emails import normalise_email
from identity.domain.memberships import Membership, roles_claims
from identity.domain.neighbourhoods import Neighbourhood, NeighbourhoodTable
from identity.domain.people import HouseholdType, Person, PersonStatus, age_band, new_person
from identity.domain.postcodes import validate_pc4
from identity.domain.roles import Role
from identity.domain.texts import DomainError
from pydantic import ValidationError

TABLE = NeighbourhoodTable(
    neighbourhoods=(
        Neighbourhood(
            code="DM01", name="Oeverhoek", lat=52.46, lon=4.81, postcodes=("9901", "9902")
        ),
    )
)


@pytest.mark.parametrize("value", ["1000", "9999", " 9901 "])
def test_pc4_accepts_four_digits(value: str) -> None:
    assert validate_pc4(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    ["0999", "999", "10000", "1234AB", "1234 AB", "Dorpsstraat 1", "123456782", "12a4", "١٢٣٤", ""],
)
def test_pc4_rejects_anything_finer_or_other(value: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_pc4(value)
    assert caught.value.field == "pc4"
    assert "4 cijfers" in caught.value.text.nl and "4 digits" in caught.value.text.en


@given(st.text(max_size=12))
def test_pc4_never_accepts_non_pc4(text: str) -> None:
    stripped = text.strip()
    is_pc4 = len(stripped) == 4 and stripped.isascii() and stripped.isdigit() and stripped[0] != "0"
    try:
        validate_pc4(text)
        accepted = True
    except DomainError:
        accepted = False
    assert accepted == is_pc4


def test_email_is_normalised() -> None:
    assert normalise_email("  Piet.Jansen@Example.NL ") == "piet.jansen@example.nl"
    for bad in ["piet", "piet@", "@example.nl", "piet jansen@example.nl", "a@b@c.nl"]:
        with pytest.raises(DomainError):
            normalise_email(bad)


def test_new_person_derives_neighbourhood_and_normalises(now: datetime) -> None:
    person = new_person(
        person_id="p-1",
        tenant="demo",
        display_name=" Piet ",
        now=now,
        table=TABLE,
        email="PIET@Example.nl",
        pc4="9902",
        birth_year=1958,
        household_type=HouseholdType.SINGLE,
    )
    assert person.email == "piet@example.nl"
    assert person.display_name == "Piet"
    assert person.neighbourhood_code == "DM01"
    assert person.age_band(2025) == "65-79"
    moved = person.with_pc4("1234", TABLE)
    assert moved.pc4 == "1234" and moved.neighbourhood_code is None


def test_person_rejects_address_in_pc4_even_when_loaded(now: datetime) -> None:
    with pytest.raises(ValidationError):
        Person.model_validate(
            {"id": "p", "tenant": "demo", "display_name": "x", "created_at": now, "pc4": "1234AB"}
        )


def test_future_birth_year_refused(now: datetime) -> None:
    with pytest.raises(DomainError):
        new_person(
            person_id="p", tenant="demo", display_name="x", now=now, table=TABLE, birth_year=2030
        )


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [
        (2010, "0-17"),
        (2007, "18-26"),
        (1998, "27-44"),
        (1980, "45-64"),
        (1960, "65-79"),
        (1940, "80+"),
    ],
)
def test_age_bands(birth_year: int, band: str) -> None:
    assert age_band(birth_year, 2025) == band


def test_erasure_keeps_only_the_tombstone(now: datetime) -> None:
    person = new_person(
        person_id="p-1",
        tenant="demo",
        display_name="Piet",
        now=now,
        table=TABLE,
        email="p@example.nl",
        pc4="9901",
        birth_year=1950,
    )
    gone = person.erased()
    assert gone.status is PersonStatus.ERASED and not gone.is_active
    assert (gone.email, gone.pc4, gone.neighbourhood_code, gone.birth_year, gone.display_name) == (
        None,
        None,
        None,
        None,
        "",
    )
    assert gone.id == "p-1"


def test_roles_claims_sorted_distinct_per_org() -> None:
    memberships = [
        Membership(
            person_id="p",
            tenant="demo",
            organisation="de-smd",
            roles=frozenset({Role.PROFESSIONAL, Role.ORG_ADMIN}),
        ),
        Membership(
            person_id="p",
            tenant="demo",
            organisation="buurtwerk",
            roles=frozenset({Role.PROFESSIONAL}),
            team="wijkteam-oost",
        ),
    ]
    roles, orgs = roles_claims(memberships)
    assert roles == ["org_admin", "professional"]
    assert orgs == {"buurtwerk": ["professional"], "de-smd": ["org_admin", "professional"]}
    assert memberships[0].model_dump()["roles"] == ["org_admin", "professional"]


def test_membership_needs_a_role() -> None:
    with pytest.raises(ValidationError):
        Membership(person_id="p", tenant="demo", organisation="de-smd", roles=frozenset())
