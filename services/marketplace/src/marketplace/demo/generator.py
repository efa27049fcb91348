"""The demo tenant's marketplace, built deterministically from a reference moment: fictional
residents in the six demo neighbourhoods asking and offering (≥ 200 posts), a broker who
posts for residents who are not online, vacancies of the demo organisations and an offer of
a local business, an open group with time credits and a closed group of carers, volunteers
who opted in, and some help already arranged, given and paid for in credits.

Pure: ids follow from names (uuid5), so a second run finds everything it made before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from marketplace.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from marketplace.domain.groups import (
    CreditPolicy,
    Group,
    GroupKind,
    GroupOwner,
    MemberRole,
    Membership,
    MemberStatus,
)
from marketplace.domain.ledger import Transfer
from marketplace.domain.matches import Match, MatchStatus
from marketplace.domain.messages import Message
from marketplace.domain.posts import (
    PartOfDay,
    Post,
    PostKind,
    PostStatus,
    Scope,
    Timing,
    When,
)
from marketplace.domain.residents import Organisation, ResidentProfile
from marketplace.domain.volunteers import NotifyMode, VolunteerProfile

NAMESPACE = uuid.UUID("6f1c2a44-5b1e-4c1e-9a77-0d3b8a2e6d10")
WELFARE = "welzijn-demo"
MUNICIPALITY = "gemeente-demo"
BUSINESS = "bakkerij-demo"
RESIDENTS_PER_HOOD = 12

#: (category, request text, offer text): short, in plain Dutch, no names or addresses.
TOPICS: tuple[tuple[str, str, str], ...] = (
    (
        "administratie",
        "Wie helpt mij met het invullen van formulieren?",
        "Ik help met post en formulieren.",
    ),
    (
        "digitaal",
        "Hulp gezocht bij mijn nieuwe smartphone.",
        "Ik leg uit hoe je videobelt en appt.",
    ),
    ("wandelen", "Wie wandelt een rondje met mij mee?", "Ik loop elke ochtend, loop gerust mee."),
    (
        "koffieochtend",
        "Zin in koffie en een praatje?",
        "Koffie en een luisterend oor bij mij thuis.",
    ),
    ("samen_eten", "Ik eet graag een keer samen.", "Ik kook te veel: eet een keer mee."),
    (
        "eenzaamheid",
        "Ik zoek iemand om af en toe mee te praten.",
        "Ik kom graag op de koffie voor een praatje.",
    ),
    (
        "taal",
        "Ik wil beter Nederlands leren spreken.",
        "Taalmaatje: samen oefenen met lezen en praten.",
    ),
    ("mantelzorg", "Even vrij als mantelzorger: wie past op?", "Ik neem de zorg een middag over."),
    ("wonen", "Hulp gezocht bij een lamp ophangen.", "Kleine klusjes in huis? Ik help."),
    ("creatief", "Wie leert mij breien?", "Samen schilderen aan de keukentafel."),
    ("geldzaken", "Wie kijkt mee naar mijn uitgaven?", "Ik help met een overzicht van je geld."),
    ("beweegles", "Wie gaat mee naar de stoelgym?", "Samen bewegen in het buurthuis."),
)

VACANCIES: tuple[tuple[str, str, str, str], ...] = (
    (WELFARE, "DM01", "vrijwilligerswerk", "Gastvrouw of gastheer voor de inloop op dinsdag."),
    (WELFARE, "DM02", "mantelzorg", "Vrijwilliger voor respijtzorg: een middag per week."),
    (WELFARE, "DM03", "digitaal", "Digimaatje: help buurtgenoten met de computer."),
    (WELFARE, "DM04", "taal", "Taalmaatje voor nieuwkomers, een uur per week."),
    (MUNICIPALITY, "DM05", "vrijwilligerswerk", "Buurtbeheerder voor het groen in de wijk."),
    (MUNICIPALITY, "DM06", "administratie", "Vrijwillige formulierenhulp in het wijkcentrum."),
)


#: identity's demo resident who is not online (a fixed id in identity's demo seed)
OFFLINE_RESIDENT_ID = "01930000-0000-7000-8000-000000000066"
#: identity's demo broker `makelaar@demo.test` (professional + broker in welzijn-demo); the
#: fixed id is asked of identity's demo seed, like the offline resident's
BROKER_ID = "01930000-0000-7000-8000-000000000067"


def demo_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass
class DemoMarket:
    reference: datetime
    residents: list[ResidentProfile] = field(default_factory=list)
    organisations: list[Organisation] = field(default_factory=list)
    broker_id: str = ""
    brokered_for: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    volunteers: list[VolunteerProfile] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)


def _when(i: int, day: datetime) -> When:
    kind = i % 3
    part = (PartOfDay.MORNING, PartOfDay.AFTERNOON, None, PartOfDay.EVENING)[i % 4]
    if kind == 0:
        return When(
            timing=Timing.ONCE, on=(day + timedelta(days=3 + i % 9)).date(), part_of_day=part
        )
    if kind == 1:
        return When(timing=Timing.RECURRING, weekdays=[i % 5, (i + 2) % 7], part_of_day=part)
    return When(timing=Timing.FLEXIBLE, part_of_day=part)


def demo_market(reference: datetime) -> DemoMarket:
    out = DemoMarket(reference=reference)
    out.organisations = [
        Organisation(WELFARE, "welfare"),
        Organisation(MUNICIPALITY, "municipality"),
        Organisation(BUSINESS, "business"),
    ]
    hoods = [n.code for n in DEMO_NEIGHBOURHOODS]
    for h, place in enumerate(DEMO_NEIGHBOURHOODS):
        for k in range(RESIDENTS_PER_HOOD):
            band = ("65-79", "45-64", "27-44", "80+", "18-26")[(h + k) % 5]
            out.residents.append(
                ResidentProfile(demo_id("resident", place.code, k), place.code, place.pc4s[0], band)
            )
    people = [r.person_id for r in out.residents]
    out.broker_id = BROKER_ID
    out.residents.append(ResidentProfile(out.broker_id, "DM01", "9901", "45-64"))
    # residents who are not online: the broker posts and arranges for them (with consent)
    out.brokered_for = [people[i] for i in range(0, len(people), 9)]

    kring = Group(
        id=demo_id("group", "buurtkring"),
        name="Buurtkring Oeverhoek en Molenweide",
        kind=GroupKind.OPEN,
        owner=GroupOwner.INITIATIVE,
        created_by=people[0],
        created_at=reference - timedelta(days=60),
        credits=CreditPolicy(enabled=True, min_balance=-10, max_balance=40, cross_group=False),
    )
    carers = Group(
        id=demo_id("group", "mantelzorgers"),
        name="Mantelzorgers Klaverbuurt",
        kind=GroupKind.CLOSED,
        owner=GroupOwner.ORGANISATION,
        organisation=WELFARE,
        created_by=out.broker_id,
        created_at=reference - timedelta(days=45),
        vog_required=True,
    )
    out.groups = [kring, carers]
    kring_members = [r.person_id for r in out.residents if r.neighbourhood_code in ("DM01", "DM02")]
    carers_members = [r.person_id for r in out.residents if r.neighbourhood_code == "DM03"][:8]
    for gid, members in ((kring.id, kring_members), (carers.id, [out.broker_id, *carers_members])):
        for j, pid in enumerate(members):
            out.memberships.append(
                Membership(
                    group_id=gid,
                    person_id=pid,
                    role=MemberRole.MODERATOR if j == 0 else MemberRole.MEMBER,
                    status=MemberStatus.ACTIVE,
                    since=reference - timedelta(days=40 - j % 10),
                )
            )
    for v, pid in enumerate(people[1::4]):
        cats = sorted({TOPICS[v % len(TOPICS)][0], TOPICS[(v + 5) % len(TOPICS)][0]})
        out.volunteers.append(
            VolunteerProfile(
                person_id=pid,
                categories=cats,
                weekdays=[v % 5, (v + 3) % 7],
                radius_km=3.0 + v % 3,
                notify=NotifyMode.NONE,
                response_hours=[float(2 + v % 30)],
                updated_at=reference - timedelta(days=30),
            )
        )

    # 216 posts of residents: 36 per neighbourhood, requests and offers in balance
    for i in range(216):
        hood = hoods[i % 6]
        local = [r.person_id for r in out.residents[:-1] if r.neighbourhood_code == hood]
        owner = local[(i // 6) % len(local)]
        category, ask, give = TOPICS[(i * 5 + i // 6) % len(TOPICS)]
        kind = PostKind.REQUEST if i % 2 == 0 else PostKind.OFFER
        created = reference - timedelta(days=i % 20, hours=(i * 7) % 24)
        scope, group_id = Scope.TENANT, None
        if i % 7 == 3:
            scope = Scope.NEIGHBOURHOOD
        if owner in kring_members and i % 5 == 1:
            scope, group_id = Scope.GROUP, kring.id
        brokered = owner in out.brokered_for and kind is PostKind.REQUEST
        out.posts.append(
            Post(
                id=demo_id("post", i),
                kind=kind,
                category=category,
                text=ask if kind is PostKind.REQUEST else give,
                neighbourhood_code=hood,
                radius_km=3.0,
                when=_when(i, created),
                scope=scope,
                group_id=group_id,
                owner_id=owner,
                posted_by=out.broker_id if brokered else owner,
                broker_org=WELFARE if brokered else None,
                created_at=created,
                expires_at=created + timedelta(days=30),
            )
        )
    # identity's demo resident who is not online (no e-mail; his consent recorded by the
    # broker): a request the broker posted for him
    out.residents.append(ResidentProfile(OFFLINE_RESIDENT_ID, "DM01", "9901", "65-79"))
    out.brokered_for.append(OFFLINE_RESIDENT_ID)
    created = reference - timedelta(days=2)
    out.posts.append(
        Post(
            id=demo_id("post", "offline-resident"),
            kind=PostKind.REQUEST,
            category="administratie",
            text="Wie helpt mij met de brieven van de gemeente?",
            neighbourhood_code="DM01",
            radius_km=3.0,
            when=When(),
            owner_id=OFFLINE_RESIDENT_ID,
            posted_by=out.broker_id,
            broker_org=WELFARE,
            created_at=created,
            expires_at=created + timedelta(days=30),
        )
    )
    for v, (org, hood, category, text) in enumerate(VACANCIES):
        created = reference - timedelta(days=v * 2)
        out.posts.append(
            Post(
                id=demo_id("vacancy", v),
                kind=PostKind.VACANCY,
                category=category,
                text=text,
                neighbourhood_code=hood,
                radius_km=5.0,
                when=When(timing=Timing.RECURRING, weekdays=[v % 5]),
                organisation=org,
                posted_by=out.broker_id,
                created_at=created,
                expires_at=created + timedelta(days=60),
            )
        )
    out.posts.append(
        Post(
            id=demo_id("business-offer"),
            kind=PostKind.OFFER,
            category="samen_eten",
            text="Elke vrijdag een gratis kom soep voor wie alleen eet.",
            neighbourhood_code="DM02",
            radius_km=2.0,
            when=When(timing=Timing.RECURRING, weekdays=[4], part_of_day=PartOfDay.AFTERNOON),
            scope=Scope.NEIGHBOURHOOD,
            organisation=BUSINESS,
            posted_by=out.broker_id,
            created_at=reference - timedelta(days=3),
            expires_at=reference + timedelta(days=27),
        )
    )
    _arranged_help(out, kring)
    return out


def _arranged_help(out: DemoMarket, kring: Group) -> None:
    """Some requests got a response: accepted, some done with messages and credits paid."""
    members = {m.person_id for m in out.memberships if m.group_id == kring.id}
    helpers = [v.person_id for v in out.volunteers]
    requests = [p for p in out.posts if p.kind is PostKind.REQUEST and p.owner_id]
    for n, post in enumerate(requests[:36]):
        assert post.owner_id is not None
        helper = next(h for h in helpers[n % len(helpers) :] + helpers if h != post.owner_id)
        responded = post.created_at + timedelta(hours=3 + n % 20)
        done = n % 3 != 2
        match = Match(
            id=demo_id("match", post.id),
            post_id=post.id,
            post_kind=post.kind,
            category=post.category,
            neighbourhood_code=post.neighbourhood_code,
            owner_id=post.owner_id,
            responder_id=helper,
            status=MatchStatus.DONE if done else MatchStatus.ACCEPTED,
            created_at=responded,
            accepted_at=responded + timedelta(hours=2),
            done_at=responded + timedelta(days=2) if done else None,
        )
        out.matches.append(match)
        index = out.posts.index(post)
        out.posts[index] = post.model_copy(
            update={
                "first_response_at": responded,
                "status": PostStatus.DONE if done else PostStatus.MATCHED,
                "closed_at": match.done_at,
            }
        )
        for m, (sender, text) in enumerate(
            (
                (helper, "Ik help graag. Wanneer schikt het?"),
                (post.owner_id, "Dank u wel! Dinsdagochtend?"),
                (helper, "Prima, tot dinsdag."),
            )
        ):
            out.messages.append(
                Message(
                    id=demo_id("message", match.id, m),
                    match_id=match.id,
                    sender_id=sender,
                    written_by=out.broker_id
                    if sender == post.owner_id and post.broker_org
                    else None,
                    text=text,
                    at=responded + timedelta(minutes=30 * (m + 1)),
                )
            )
        if done and post.owner_id in members and helper in members and match.done_at:
            out.transfers.append(
                Transfer(
                    id=demo_id("transfer", match.id),
                    from_group_id=kring.id,
                    to_group_id=kring.id,
                    from_person_id=post.owner_id,
                    to_person_id=helper,
                    amount=1 + n % 2,
                    at=match.done_at,
                    requested_by=post.owner_id,
                    match_id=match.id,
                )
            )


def certificate_dates(reference: datetime) -> date:
    """The carers' group asks for a VOG: its helpers' certificates are recent."""
    return (reference - timedelta(days=200)).date()
