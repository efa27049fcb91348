"""Pure rules: post lifecycle and timing, visibility, groups, matches, certificates, places."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from marketplace.domain import groups, matches, posts
from marketplace.domain.errors import DomainValidationError, StateConflict
from marketplace.domain.groups import Group, GroupKind, GroupOwner, MemberStatus
from marketplace.domain.matches import Match, MatchStatus
from marketplace.domain.places import DistanceBand, Neighbourhood, band_of, validate_radius
from marketplace.domain.posts import Post, PostKind, PostStatus, Scope, Timing, When
from marketplace.domain.safety import Certificate
from marketplace.domain.visibility import Viewer, listed, owns, visible
from pydantic import ValidationError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def a_post(**kw: object) -> Post:
    base: dict[str, object] = {
        "id": "p1",
        "kind": PostKind.REQUEST,
        "category": "administratie",
        "text": "Hulp",
        "neighbourhood_code": "DM01",
        "radius_km": 3.0,
        "owner_id": "anna",
        "posted_by": "anna",
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=30),
    }
    return Post.model_validate({**base, **kw})


def test_when_is_consistent() -> None:
    assert When(timing=Timing.ONCE, on=date(2026, 3, 3)).weekdays_meant() == {1}
    assert When(timing=Timing.RECURRING, weekdays=[0, 2]).weekdays_meant() == {0, 2}
    assert When().weekdays_meant() == frozenset()
    for bad in ({"timing": "once"}, {"timing": "recurring"}, {"on": "2026-03-03"}):
        with pytest.raises(ValidationError):
            When.model_validate(bad)


def test_lifecycle_open_matched_done_and_no_way_back() -> None:
    post = posts.matched(a_post())
    assert post.status is PostStatus.MATCHED
    finished = posts.done(post, NOW)
    assert finished.status is PostStatus.DONE and finished.closed_at == NOW
    for change in (
        lambda p: posts.cancel(p, NOW),
        lambda p: posts.renew(p, NOW),
        lambda p: posts.matched(p),
        lambda p: posts.revise(p, text="x", when=None, radius_km=None),
    ):
        with pytest.raises(StateConflict):
            change(finished)


def test_reminder_before_expiry_then_expiry_and_one_click_renewal() -> None:
    post = a_post(expires_at=NOW + timedelta(days=10))
    assert posts.remind(post, NOW) is None
    reminded = posts.remind(post, NOW + timedelta(days=7, seconds=1))
    assert reminded is not None and posts.remind(reminded, NOW + timedelta(days=8)) is None
    assert posts.expire(reminded, NOW + timedelta(days=9)) is None
    expired = posts.expire(reminded, NOW + timedelta(days=10))
    assert expired is not None and expired.status is PostStatus.EXPIRED
    renewed = posts.renew(expired, NOW + timedelta(days=11), days=14)
    assert renewed.status is PostStatus.OPEN and renewed.reminded_at is None
    assert renewed.expires_at == NOW + timedelta(days=25)
    with pytest.raises(DomainValidationError):
        posts.renew(expired, NOW, days=365)


def test_shape_of_a_new_post() -> None:
    with pytest.raises(DomainValidationError) as error:
        posts.check_new_post(
            kind=PostKind.VACANCY,
            scope=Scope.GROUP,
            group_id=None,
            owner_id=None,
            organisation=None,
        )
    assert {e.field for e in error.value.errors} == {"group_id", "organisation"}


def test_visibility_by_scope_status_review_and_blocks() -> None:
    anna = Viewer("anna")
    bert = Viewer("bert", neighbourhood_code="DM01")
    elsewhere = Viewer("cees", neighbourhood_code="DM05")
    helper = Viewer("vera", neighbourhood_code="DM05", helper=True)
    member = Viewer("dirk", groups=frozenset({"g1"}))
    post = a_post()
    assert owns(post, anna) and visible(post, anna) and not listed(post, anna)
    assert visible(post, elsewhere) and listed(post, elsewhere)
    local = a_post(scope=Scope.NEIGHBOURHOOD)
    assert visible(local, bert) and visible(local, helper) and not visible(local, elsewhere)
    grouped = a_post(scope=Scope.GROUP, group_id="g1")
    assert visible(grouped, member) and not visible(grouped, bert)
    assert not visible(a_post(under_review=True), bert) and visible(a_post(under_review=True), anna)
    blocked = Viewer("bert", blocked=frozenset({"anna"}))
    assert not visible(post, blocked)
    matched = a_post(status=PostStatus.MATCHED)
    assert not visible(matched, bert)
    assert visible(matched, Viewer("bert", participates_in=frozenset({"p1"})))
    assert not visible(a_post(status=PostStatus.DONE), bert)
    org_post = a_post(owner_id=None, organisation="welzijn-demo", kind=PostKind.VACANCY)
    assert owns(org_post, Viewer("staff", staff_of=frozenset({"welzijn-demo"})))
    assert not owns(org_post, Viewer("staff", staff_of=frozenset({"ander"})))


def group(kind: GroupKind = GroupKind.CLOSED) -> Group:
    return Group(
        id="g1",
        name="Kring",
        kind=kind,
        owner=GroupOwner.INITIATIVE,
        created_by="m",
        created_at=NOW,
    )


def test_joining_open_and_closed_groups() -> None:
    assert groups.join(group(GroupKind.OPEN), "a", None, NOW).status is MemberStatus.ACTIVE
    asked = groups.join(group(), "a", None, NOW)
    assert asked.status is MemberStatus.REQUESTED
    assert groups.approve(asked, NOW).status is MemberStatus.ACTIVE
    invited = groups.invite(group(), "b", None, NOW)
    assert invited.status is MemberStatus.INVITED
    assert groups.join(group(), "b", invited, NOW).status is MemberStatus.ACTIVE
    assert groups.invite(group(), "a", asked, NOW).status is MemberStatus.ACTIVE
    with pytest.raises(StateConflict):
        groups.approve(None, NOW)
    with pytest.raises(StateConflict):
        groups.appoint_moderator(asked)
    with pytest.raises(ValidationError):
        Group(
            id="g",
            name="x",
            kind=GroupKind.OPEN,
            owner=GroupOwner.ORGANISATION,
            created_by="m",
            created_at=NOW,
        )


def a_match(kind: PostKind = PostKind.REQUEST, owner: str | None = "anna") -> Match:
    return Match(
        id="m1",
        post_id="p1",
        post_kind=kind,
        category="administratie",
        neighbourhood_code="DM01",
        owner_id=owner,
        responder_id="vera",
        created_at=NOW,
    )


def test_who_helps_whom() -> None:
    request = a_match()
    assert (request.helper_id, request.helped_id) == ("vera", "anna")
    offer = a_match(PostKind.OFFER)
    assert (offer.helper_id, offer.helped_id) == ("anna", "vera")
    vacancy = a_match(PostKind.VACANCY, owner=None)
    assert (vacancy.helper_id, vacancy.helped_id) == ("vera", None)


def test_match_lifecycle_and_contact_sharing() -> None:
    match = a_match()
    with pytest.raises(StateConflict):
        matches.complete(match, NOW)
    accepted = matches.accept(match, NOW)
    assert accepted.status is MatchStatus.ACCEPTED
    with pytest.raises(StateConflict):
        matches.decline(accepted)
    shared = matches.share_contact(accepted, "vera", "06-1")
    assert matches.visible_contacts(shared, "anna") == {}
    assert matches.visible_contacts(shared, "vera") == {"vera": "06-1"}
    both = matches.share_contact(shared, "anna", "buurthuis")
    assert matches.visible_contacts(both, "anna") == {"vera": "06-1", "anna": "buurthuis"}
    done = matches.complete(both, NOW)
    assert done.status is MatchStatus.DONE and matches.complete(done, NOW) is done


def test_a_certificate_of_conduct_is_valid_for_three_years() -> None:
    vog = Certificate(
        organisation="o",
        person_id="v",
        issued_on=date(2024, 2, 29),
        recorded_by="s",
        recorded_at=NOW,
    )
    assert vog.expires_on == date(2027, 2, 28)
    assert vog.valid_on(date(2027, 2, 27)) and not vog.valid_on(date(2027, 2, 28))
    assert not vog.valid_on(date(2024, 2, 28))


def test_distance_bands_and_radius() -> None:
    dm01 = Neighbourhood("DM01", "Oeverhoek", 52.4612, 4.8135)
    dm02 = Neighbourhood("DM02", "Molenweide", 52.4538, 4.8297)
    dm06 = Neighbourhood("DM06", "Reigersdijk", 52.4820, 4.8803)
    assert band_of(dm01, dm01) is DistanceBand.SAME_NEIGHBOURHOOD
    assert band_of(dm01, dm02) is DistanceBand.WITHIN_3_KM
    assert band_of(dm01, dm06) is DistanceBand.WITHIN_10_KM  # ~5.1 km
    assert validate_radius(2) == 2.0
    for bad in (0.1, 26, float("nan")):
        with pytest.raises(DomainValidationError):
            validate_radius(bad)
