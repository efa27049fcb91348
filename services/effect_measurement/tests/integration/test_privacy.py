"""Analysts never reach person-level data; small cells and differencing are suppressed;
tenants are isolated; professionals need consent; bad query parameters are 422."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import Harness, event, read_subject, response, wait_for
from wijkkracht_common.events.identity import ConsentGranted, PersonRegistered

pytestmark = pytest.mark.integration
FAMILY = "self-sufficiency-matrix"
ANALYST = {"gemeente-x": ["analyst"]}


async def _populate(harness: Harness, tenant: str) -> list[str]:
    """12 people in DM01 in Q1 (+1 in April), 3 people in DM02 in Q1."""
    people = [(f"a{i}", "DM01", datetime(2026, 2, 10, tzinfo=UTC)) for i in range(12)]
    people += [("late", "DM01", datetime(2026, 4, 10, tzinfo=UTC))]
    people += [(f"b{i}", "DM02", datetime(2026, 2, 10, tzinfo=UTC)) for i in range(3)]
    for person, wijk, _ in people:
        await harness.publish(
            event(
                PersonRegistered(person_id=person, neighbourhood_code=wijk, age_band="27-44"),
                tenant,
                person,
            )
        )
    db = await harness.db(tenant)
    await wait_for(lambda: _n(db.profiles, len(people)))
    for n, (person, _, at) in enumerate(people):
        await harness.publish(response(tenant, person, levels={"finances": 1 + n % 5}, at=at))

    async def recorded() -> bool:
        if not await _n(db.measurements, len(people)):
            return False
        events = await read_subject(
            harness.js, f"wk.{tenant}.effect_measurement.measurement_recorded.v1"
        )
        return len(events) >= len(people)

    # nx-27017 shows uncommitted writes: wait for each batch's last write (outbox), cells precede it
    await wait_for(recorded)
    return [p for p, _, _ in people]


async def _n(collection, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(await collection.count_documents({}) >= n)


def _values(report: dict[str, object]) -> dict[tuple[str, str], object]:
    rows = [*report["rows"], report["totals"]]  # type: ignore[misc]
    return {
        (r["labels"]["neighbourhood"], c): cell.get("value", "*")
        for r in rows
        for c, cell in r["cells"].items()
    }


async def test_analyst_sees_suppressed_aggregates_only(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant = two_tenants.a
    people = await _populate(harness, tenant)
    headers = harness.headers(tenant, "analyst-1", ANALYST)
    got = await harness.client.get(
        "/effects/v1/aggregates", headers=headers, params={"family": FAMILY, "period": "2026-Q1"}
    )
    assert got.status_code == 200, got.text
    report = got.json()["items"][0]
    values = _values(report)
    assert values[("DM02", "measured")] == "*"  # 3 < k = 10
    # Complementary: DM01 (12) and the total (15) cannot both be shown next to a hidden 3.
    assert "*" in (values[("DM01", "measured")], values[("Totaal", "measured")])
    shown = [v for v in values.values() if isinstance(v, (int, float))]
    assert all(v == 0 or v >= 10 for v in shown)
    for path in ("/effects/v1/aggregates", "/effects/v1/aggregates/export"):
        text = (
            await harness.client.get(
                path, headers=headers, params={"family": FAMILY, "period": "2026"}
            )
        ).text
        assert not any(f'"{p}"' in text or f",{p}," in text for p in people)
    # No endpoint gives an analyst a person's trajectories.
    for path in ("/effects/v1/people/a1/trajectories", "/effects/v1/me/trajectories"):
        response_ = await harness.client.get(path, headers=headers)
        assert response_.status_code in (403, 404) or response_.json()["items"] == []
    svg = await harness.client.get(
        "/effects/v1/aggregates/chart.svg",
        headers=headers,
        params={"family": FAMILY, "period": "2026-Q1", "column": "measured", "dimension": "_all"},
    )
    assert svg.status_code == 200 and "<svg" in svg.text


async def test_differencing_two_overlapping_queries(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant = two_tenants.a
    await _populate(harness, tenant)
    headers = harness.headers(tenant, "analyst-1", ANALYST)
    reports = {}
    for period in ("2026", "2026-Q1", "2026-02", "2026-04", "2026-Q2"):
        for dimension in ("_all", "finances"):
            got = await harness.client.get(
                "/effects/v1/aggregates",
                headers=headers,
                params={"family": FAMILY, "period": period, "dimension": dimension},
            )
            assert got.status_code == 200
            reports[(period, dimension)] = _values(got.json()["items"][0])
    # Year vs Q1 differ by the one April person in DM01: never both shown.
    for (p1, d1), a in reports.items():
        for (p2, d2), b in reports.items():
            if (p1, d1) == (p2, d2):
                continue
            for name, value in a.items():
                other = b.get(name)
                if isinstance(value, (int, float)) and isinstance(other, (int, float)):
                    assert value == other or abs(value - other) >= 10, (p1, d1, p2, d2, name)
    # A free-form second filter to subtract with is refused.
    refused = await harness.client.get(
        "/effects/v1/aggregates",
        headers=headers,
        params={"family": FAMILY, "period": "2026", "neighbourhood": "DM01"},
    )
    assert refused.status_code == 422


async def test_bad_parameters_are_422(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    headers = harness.headers(two_tenants.a, "analyst-1", ANALYST)
    for params in (
        {"family": FAMILY, "period": "2026-13"},
        {"family": "nope", "period": "2026"},
        {"family": FAMILY, "period": "2026", "k": "abc"},
        {"family": FAMILY, "period_from": "2020-01", "period_to": "2026-12"},
        {"family": FAMILY, "period": "2026", "dimension": "x"},
        {"family": FAMILY},
    ):
        got = await harness.client.get("/effects/v1/aggregates", headers=headers, params=params)
        assert got.status_code == 422, params
        assert got.headers["content-type"] == "application/problem+json"
        assert got.json()["errors"]
    repeated = await harness.client.get(
        f"/effects/v1/aggregates?family={FAMILY}&period=2026&period=2026-Q1", headers=headers
    )
    assert repeated.status_code == 422
    low_k = await harness.client.put(
        "/effects/v1/settings/privacy",
        json={"k": 4},
        headers=harness.headers(two_tenants.a, "adm", {"gemeente-x": ["tenant_admin"]}),
    )
    assert low_k.status_code == 422
    resident = harness.headers(two_tenants.a, "p1", {"welzijn-a": ["resident"]})
    assert (
        await harness.client.get(
            "/effects/v1/aggregates", headers=resident, params={"family": FAMILY, "period": "2026"}
        )
    ).status_code == 403


async def test_tenant_isolation_and_consent(harness: Harness, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, b = two_tenants.a, two_tenants.b
    await harness.publish(response(a, "shared-id", levels={"finances": 2}))
    db = await harness.db(a)
    await wait_for(lambda: _n(db.measurements, 1))
    # The same person id in tenant b sees nothing; tenant b's analyst sees no rows.
    own_b = await harness.client.get(
        "/effects/v1/me/trajectories", headers=harness.headers(b, "shared-id", {})
    )
    assert own_b.json()["items"] == []
    year = str(datetime.now(UTC).year)
    report_b = await harness.client.get(
        "/effects/v1/aggregates",
        headers=harness.headers(b, "an", ANALYST),
        params={"family": FAMILY, "period": year},
    )
    assert report_b.json()["items"][0]["rows"] == []
    # A professional needs the resident's share_results consent for their organisation.
    pro = harness.headers(a, "pro-1", {"welzijn-a": ["professional"]})
    assert (
        await harness.client.get("/effects/v1/people/shared-id/trajectories", headers=pro)
    ).status_code == 404
    await harness.publish(
        event(
            ConsentGranted(
                person_id="shared-id", organisation_slug="welzijn-a", purpose="share_results"
            ),
            a,
            "shared-id",
        )
    )
    await wait_for(lambda: _n(db.consent_states, 1))  # the platform's one projection
    seen = await harness.client.get("/effects/v1/people/shared-id/trajectories", headers=pro)
    assert seen.status_code == 200 and len(seen.json()["items"]) == 1
    assert await db.access_log.count_documents({"resident": "shared-id"}) == 1
    pro_b = harness.headers(b, "pro-1", {"welzijn-a": ["professional"]})
    assert (
        await harness.client.get("/effects/v1/people/shared-id/trajectories", headers=pro_b)
    ).status_code == 404
