"""Every link the service hands out (verification mails, the confirmation page, calendar-feed
URLs, `Location` of a sweep) is made from `public_base_url`, never from the request's host:
change the setting and every link follows."""

from __future__ import annotations

import re
from html import unescape

import pytest
from conftest import PREFIX, FakeClock, running_api
from helpers import IDENTITY_DEMO_TABLE, entry, eventually
from social_map.service.freshness import sweep_tenant
from wijkkracht_common.events.envelope import new_event
from wijkkracht_common.events.identity import NeighbourhoodsImported
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import MailSink, TwoTenants

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "base",
    ["https://kaart.example.org/sociale-kaart/v1", "http://10.20.30.40:9005/social-map/v1"],
)
async def test_every_link_uses_the_public_base_url(
    base: str,
    nats_url: str,
    mongo_url: str,
    mail_sink: MailSink,
    test_issuer: TestIssuer,
    two_tenants: TwoTenants,
) -> None:
    clock = FakeClock()
    t = two_tenants.a
    owner_mail = f"owner-{t}-{abs(hash(base))}@example.nl"
    async with running_api(
        nats_url, mongo_url, mail_sink, test_issuer, clock, public_base_url=base + "/"
    ) as api:
        admin = api.headers(t, org_a=["org_admin"])
        manager = api.headers(t, sub="p-m", gemeente_demo=["neighbourhood_manager"])
        r = await api.client.post(f"{PREFIX}/entries", json=entry(email=owner_mail), headers=admin)
        assert r.status_code == 201

        # the calendar-feed URL
        await api.publish(
            new_event(
                NeighbourhoodsImported(neighbourhoods=IDENTITY_DEMO_TABLE), tenant=t, subject=t
            )
        )

        async def feed_link() -> bool:
            r = await api.client.post(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=admin)
            return r.status_code == 200

        await eventually(feed_link)
        r = await api.client.post(f"{PREFIX}/neighbourhoods/DM01/feed-link", headers=admin)
        url = r.json()["url"]
        assert url.startswith(f"{base}/feeds/") and url.endswith("/activities.ics")
        feed = await api.client.get(PREFIX + url.removeprefix(base))
        assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text

        # the sweep's Location
        r = await api.client.post(f"{PREFIX}/freshness/sweeps", headers=manager)
        assert r.status_code == 201
        assert r.headers["location"] == f"{base}/freshness/sweeps/{r.json()['id']}"

        # the verification mail and the page it opens
        clock.advance(151)
        assert await sweep_tenant(api.app.state.ctx, t, clock()) == 1
        await eventually(lambda: _has_mail(mail_sink, owner_mail))
        text = mail_sink.to(owner_mail)[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        links = re.findall(r"https?://\S+", text)
        assert links and all(link.startswith(f"{base}/verification/") for link in links)
        page = await api.client.get(PREFIX + links[0].removeprefix(base))
        assert page.status_code == 200
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None and unescape(action.group(1)) == links[0]
        assert "http://t" not in page.text


async def _has_mail(sink: MailSink, address: str) -> bool:
    return bool(sink.to(address))
