"""Seeded generator of a realistic demo social map, plus a fast stream for benchmarks.

Everything is derived from `seed` and the `reference` moment passed in (no clock reads),
so two runs give identical data.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from social_map.demo.neighbourhoods import DEMO_NEIGHBOURHOODS
from social_map.domain.geo import Neighbourhood
from social_map.domain.model import (
    Accessibility,
    Address,
    Contact,
    Cost,
    Eligibility,
    Entry,
    EntryKind,
    Language,
    Location,
    Organization,
    OwnerKind,
    Phone,
    Schedule,
    ServiceAtLocation,
    SocialMapData,
)

TENANT = "demo"
#: Default "now" of the demo data; pass the real now when seeding so freshness states vary.
DEFAULT_REFERENCE = datetime(2025, 1, 6, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
_NS = uuid.UUID("5b0c7f3e-8a51-4d47-9a55-2f1b9f0d6c11")
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA"]
STREETS = [
    "Lindelaan",
    "Kastanjestraat",
    "Duinweg",
    "Molenpad",
    "Sluisstraat",
    "Vlietkade",
    "Iepenhof",
    "Zeeweg",
    "Dorpsstraat",
    "Schoolstraat",
    "Havenkade",
    "Bloemenhof",
    "Rietlanden",
    "Kerkplein",
]
VENUES = [
    "Buurthuis De Linde",
    "Wijkcentrum Het Anker",
    "Bibliotheek",
    "Huiskamer van de Wijk",
    "Sporthal De Duinen",
    "Kerkzaal De Ark",
    "Speeltuingebouw",
    "Dorpshuis",
    "Parkpaviljoen",
]


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


@dataclass(frozen=True, slots=True)
class _Template:
    category: str
    kind: EntryKind
    names: tuple[str, ...]
    description: str
    start: time | None
    minutes: int
    cost: Cost
    min_age: int | None = None
    max_age: int | None = None


_FREE = Cost(free=True)
_T = _Template
TEMPLATES: tuple[_Template, ...] = (
    _T(
        "wandelen",
        EntryKind.ACTIVITY,
        ("Wandelgroep {venue}", "Ommetje in de wijk", "Wandelclub {street}"),
        "Elke week lopen we samen een rustige route van een uur door de wijk. Iedereen kan "
        "aansluiten; na afloop drinken we koffie.",
        time(10, 0),
        90,
        _FREE,
        50,
        None,
    ),
    _T(
        "beweegles",
        EntryKind.ACTIVITY,
        ("Stoelyoga", "Bewegen voor ouderen", "Gym in de buurt"),
        "Beweeglessen op je eigen niveau onder begeleiding van een docent.",
        time(14, 0),
        60,
        Cost(free=False, amount=Decimal("3.50"), description="per les"),
        55,
        None,
    ),
    _T(
        "koffieochtend",
        EntryKind.ACTIVITY,
        ("Koffieochtend {venue}", "Inloopochtend", "Buurtkoffie"),
        "Gezellig koffie drinken met buurtgenoten. Loop binnen wanneer u wilt.",
        time(10, 0),
        120,
        _FREE,
    ),
    _T(
        "samen_eten",
        EntryKind.ACTIVITY,
        ("Buurtmaaltijd", "Eettafel {street}", "Samen koken"),
        "Samen eten met buurtbewoners: een warme maaltijd voor een klein bedrag.",
        time(17, 30),
        120,
        Cost(free=False, amount=Decimal("5.00"), description="per maaltijd"),
    ),
    _T(
        "eenzaamheid",
        EntryKind.SERVICE,
        ("Maatjesproject", "Huisbezoek door vrijwilligers"),
        "Een vrijwilliger komt bij u op bezoek voor een praatje of om samen iets te ondernemen.",
        None,
        0,
        _FREE,
        18,
        None,
    ),
    _T(
        "schulden",
        EntryKind.SERVICE,
        ("Schuldhulpmaatje", "Spreekuur geldzaken", "Budgetcoach"),
        "Hulp bij schulden en geldzaken. Samen brengen we uw situatie in kaart en zoeken we "
        "een oplossing.",
        time(9, 0),
        180,
        _FREE,
        18,
        None,
    ),
    _T(
        "administratie",
        EntryKind.SERVICE,
        ("Formulierenhulp", "Hulp bij post en papieren"),
        "Vrijwilligers helpen met brieven, formulieren en toeslagen.",
        time(13, 0),
        120,
        _FREE,
        18,
    ),
    _T(
        "mantelzorg",
        EntryKind.SERVICE,
        ("Mantelzorgpunt", "Mantelzorgcafé"),
        "Ondersteuning voor mantelzorgers: advies, lotgenoten en respijtzorg.",
        time(19, 30),
        90,
        _FREE,
    ),
    _T(
        "psychisch",
        EntryKind.ACTIVITY,
        ("Stress de baas", "Lotgenotengroep somberheid"),
        "Groepsbijeenkomsten over omgaan met stress en zorgen.",
        time(19, 0),
        90,
        _FREE,
        18,
    ),
    _T(
        "rouw",
        EntryKind.ACTIVITY,
        ("Rouwgroep", "Samen verder na verlies"),
        "Praten met anderen die een dierbare verloren. Onder begeleiding van een rouwconsulent.",
        time(14, 0),
        90,
        _FREE,
        18,
    ),
    _T(
        "taal",
        EntryKind.ACTIVITY,
        ("Taalcafé", "Taalmaatje", "Nederlands oefenen"),
        "Oefen Nederlands in een ontspannen sfeer met vrijwilligers.",
        time(10, 30),
        90,
        _FREE,
        16,
    ),
    _T(
        "digitaal",
        EntryKind.ACTIVITY,
        ("Digicafé", "Hulp bij DigiD", "Klik en tik"),
        "Hulp bij de computer, smartphone, tablet en DigiD.",
        time(13, 30),
        120,
        _FREE,
    ),
    _T(
        "opvoeding",
        EntryKind.SERVICE,
        ("Opvoedspreekuur", "Ouderkamer"),
        "Vragen over opvoeden? Praat met een opvoedcoach of andere ouders.",
        time(9, 0),
        90,
        _FREE,
    ),
    _T(
        "jongeren",
        EntryKind.ACTIVITY,
        ("Jongerenavond", "Sport en spel voor tieners"),
        "Activiteiten voor jongeren: sport, muziek en gewoon chillen.",
        time(19, 0),
        150,
        _FREE,
        12,
        23,
    ),
    _T(
        "vrijwilligerswerk",
        EntryKind.SERVICE,
        ("Vrijwilligerspunt", "Vrijwilligersvacaturebank"),
        "Vind vrijwilligerswerk dat bij u past, in uw eigen wijk.",
        time(10, 0),
        120,
        _FREE,
        16,
    ),
    _T(
        "creatief",
        EntryKind.ACTIVITY,
        ("Schilderclub", "Handwerkkring", "Buurtkoor"),
        "Samen creatief bezig zijn. Materiaal is aanwezig.",
        time(14, 0),
        120,
        Cost(free=False, amount=Decimal("2.00"), description="bijdrage materiaal"),
    ),
    _T(
        "wonen",
        EntryKind.SERVICE,
        ("Buurtbemiddeling", "Klussendienst"),
        "Hulp bij burenruzies of kleine klussen in en om het huis.",
        None,
        0,
        _FREE,
        18,
    ),
)

ORGANISATIONS: tuple[tuple[str, str, OwnerKind, str | None], ...] = (
    ("welzijn-demo", "Welzijn Demo", OwnerKind.ORGANISATION, "welzijn-demo"),
    ("stichting-buurtkracht", "Stichting Buurtkracht", OwnerKind.ORGANISATION, "buurtkracht"),
    ("bibliotheek-duinstreek", "Bibliotheek Duinstreek", OwnerKind.ORGANISATION, "bieb-duinstreek"),
    ("schuldhulp-samen", "Schuldhulp Samen", OwnerKind.ORGANISATION, "schuldhulp-samen"),
    ("mantelzorgpunt-de-linde", "Mantelzorgpunt De Linde", OwnerKind.ORGANISATION, None),
    ("sportservice-kust", "Sportservice Kust", OwnerKind.ORGANISATION, "sportservice-kust"),
    ("jongerenwerk-noord", "Jongerenwerk Noord", OwnerKind.ORGANISATION, None),
    ("gemeente-demo", "Gemeente Demo", OwnerKind.ORGANISATION, "gemeente-demo"),
    ("bewoners-groen-zuid", "Bewonersinitiatief Groen Zuid", OwnerKind.RESIDENTS_INITIATIVE, None),
    ("buurtvereniging-vlinder", "Buurtvereniging De Vlinder", OwnerKind.RESIDENTS_INITIATIVE, None),
    ("de-stappers", "Wandelvereniging De Stappers", OwnerKind.RESIDENTS_INITIATIVE, None),
)


def demo_organisations() -> list[Organization]:
    return [
        Organization(
            id=oid,
            name=name,
            kind=kind,
            tenant_org_slug=slug,
            description=f"{name} is actief in de wijken van regio Kustdorp.",
            website=f"https://{oid}.example.nl",
        )
        for oid, name, kind, slug in ORGANISATIONS
    ]


def _location(rng: random.Random, key: str, hood: Neighbourhood, spread_km: float) -> Location:
    # ~0.009° lat per km; lon degrees are ~1.64x smaller in km at 52.45°N
    lat = hood.centroid_lat + rng.uniform(-spread_km, spread_km) * 0.009
    lon = hood.centroid_lon + rng.uniform(-spread_km, spread_km) * 0.0148
    pc = f"{rng.choice(hood.pc4)} {rng.choice('ABCDEGHJKL')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
    access = [Accessibility(code="wheelchair", description="Rolstoeltoegankelijk")]
    if rng.random() < 0.4:
        access.append(Accessibility(code="hearing_loop", description="Ringleiding aanwezig"))
    if rng.random() < 0.2:
        access = []
    venue = rng.choice(VENUES)
    return Location(
        id=_id(key, "loc"),
        name=f"{venue} {hood.name}",
        latitude=round(lat, 6),
        longitude=round(lon, 6),
        address=Address(
            address_1=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            city="Kustdorp",
            postal_code=pc,
        ),
        accessibility=access,
    )


def _entry(
    rng: random.Random, key: str, template: _Template, hood: Neighbourhood, reference: datetime
) -> Entry:
    loc = _location(rng, key, hood, spread_km=1.4)
    name = (
        rng.choice(template.names)
        .replace("{venue}", loc.name.split(" ")[-1] if rng.random() < 0.5 else hood.name)
        .replace("{street}", (loc.address.address_1.split(" ")[0] if loc.address else hood.name))
    )
    sal = ServiceAtLocation(id=_id(key, "sal"), location=loc)
    schedules: list[Schedule] = []
    if template.start is not None:
        start = datetime.combine(date(2024, 1, 1), template.start)
        end = (start + timedelta(minutes=template.minutes)).time()
        day = rng.choice(DAYS)
        rule = f"FREQ=WEEKLY;BYDAY={day}" if rng.random() < 0.75 else f"FREQ=MONTHLY;BYDAY=+1{day}"
        schedules.append(
            Schedule(
                id=_id(key, "sch"),
                rrule=rule,
                dtstart=date(2024, 1, 1),
                opens_at=template.start,
                closes_at=end,
            )
        )
    languages = [Language(code="nl", name="Nederlands")]
    if rng.random() < 0.25:
        languages.append(
            rng.choice(
                [
                    Language(code="en", name="English"),
                    Language(code="tr", name="Türkçe"),
                    Language(code="ar", name="العربية"),
                ]
            )
        )
    org = rng.choice(ORGANISATIONS[:10])[0]
    age_days = rng.choice([rng.uniform(0, 140), rng.uniform(0, 140), rng.uniform(140, 320)])
    return Entry(
        id=_id(TENANT, key),
        tenant=TENANT,
        kind=template.kind,
        organization_id=org,
        name=name,
        description=template.description,
        category_codes=[template.category],
        service_at_locations=[sal],
        schedules=schedules,
        contacts=[
            Contact(
                id=_id(key, "contact"),
                name="Servicepunt",
                phones=[Phone(id=_id(key, "phone"), number="0800-0000000")],
            )
        ],
        cost=template.cost,
        eligibility=Eligibility(minimum_age=template.min_age, maximum_age=template.max_age),
        languages=languages,
        assured_at=reference - timedelta(days=round(age_days, 2)),
        assured_by=f"{org}@example.nl",
    )


def de_stappers(reference: datetime) -> Entry:
    """The walking group of the Piet story: DM01 Oeverhoek, Tuesdays 10:00, free, 55+."""
    hood = DEMO_NEIGHBOURHOODS[0]
    loc = Location(
        id=_id("de-stappers", "loc"),
        name="Startpunt Parkpaviljoen Oeverhoek",
        latitude=hood.centroid_lat + 0.0015,
        longitude=hood.centroid_lon - 0.002,
        address=Address(address_1="Lindelaan 12", city="Kustdorp", postal_code="9903 AB"),
        accessibility=[Accessibility(code="wheelchair", description="Verharde route")],
    )
    return Entry(
        id=_id(TENANT, "de-stappers"),
        tenant=TENANT,
        kind=EntryKind.ACTIVITY,
        organization_id="de-stappers",
        name="Wandelgroep De Stappers",
        description="Elke dinsdag om 10:00 lopen we een rustige wandeling van een uur door het "
        "park. Voor iedereen vanaf 55 jaar, ook als u alleen bent. Na afloop koffie.",
        category_codes=["wandelen"],
        service_at_locations=[ServiceAtLocation(id=_id("de-stappers", "sal"), location=loc)],
        schedules=[
            Schedule(
                id=_id("de-stappers", "sch"),
                rrule="FREQ=WEEKLY;BYDAY=TU",
                dtstart=date(2024, 1, 2),
                opens_at=time(10),
                closes_at=time(11, 30),
            )
        ],
        cost=Cost(free=True),
        eligibility=Eligibility(minimum_age=55, description="55 jaar en ouder"),
        languages=[Language(code="nl", name="Nederlands")],
        assured_at=reference - timedelta(days=10),
        assured_by="de-stappers@example.nl",
    )


def demo_map(
    seed: int = 2024, reference: datetime | None = None, per_hood: int = 62
) -> SocialMapData:
    """≥ 300 entries over the six demo neighbourhoods (62 each + De Stappers = 373)."""
    ref = reference or DEFAULT_REFERENCE
    rng = random.Random(seed)
    entries = [de_stappers(ref)]
    for h, hood in enumerate(DEMO_NEIGHBOURHOODS):
        for i in range(per_hood):
            template = TEMPLATES[(i + h) % len(TEMPLATES)]
            entries.append(_entry(rng, f"{hood.code}-{i}", template, hood, ref))
    return SocialMapData(organizations=demo_organisations(), entries=entries)


def bench_entries(
    count: int = 50_000, seed: int = 7, reference: datetime | None = None
) -> Iterator[Entry]:
    """Stream of `count` entries (lazy; nothing is kept in memory) for benchmarks."""
    ref = reference or DEFAULT_REFERENCE
    rng = random.Random(seed)
    for i in range(count):
        hood = DEMO_NEIGHBOURHOODS[i % len(DEMO_NEIGHBOURHOODS)]
        yield _entry(rng, f"bench-{i}", TEMPLATES[i % len(TEMPLATES)], hood, ref)
