"""Telling people: in-platform notifications, and mail for volunteers who gave an address
(at once, or in the daily digest: their choice). Mail texts carry no one's name, address or
post text: the category, the neighbourhood and a link into the platform."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wijkkracht_common.events.envelope import new_event_id
from wijkkracht_common.mail import Mail

from marketplace.adapters.repositories import Repository
from marketplace.domain.categories import Categories
from marketplace.domain.notifications import Delivery, Notification, NotificationKind
from marketplace.domain.posts import Post
from marketplace.domain.volunteers import Helper, NotifyMode


def notification(
    person_id: str,
    kind: NotificationKind,
    now: datetime,
    *,
    post: Post | None = None,
    match_id: str | None = None,
    delivery: Delivery = Delivery.PLATFORM,
) -> Notification:
    return Notification(
        id=new_event_id(),
        person_id=person_id,
        kind=kind,
        post_id=post.id if post else None,
        match_id=match_id,
        category=post.category if post else None,
        neighbourhood_code=post.neighbourhood_code if post else None,
        delivery=delivery,
        created_at=now,
    )


def _delivery(profile: Helper) -> Delivery:
    if profile.email is None or profile.notify is NotifyMode.NONE:
        return Delivery.PLATFORM
    return Delivery.DIGEST if profile.notify is NotifyMode.DAILY else Delivery.IMMEDIATE


def request_mail(to: str, post: Post, categories: Categories, link: str) -> Mail:
    nl, en = categories.label(post.category, "nl"), categories.label(post.category, "en")
    text = (
        f"Er is een hulpvraag bij u in de buurt ({nl}, wijk {post.neighbourhood_code}).\n"
        f"Bekijk hem en reageer in Wijkkracht: {link}\n\n"
        f"Someone near you asks for help ({en}, neighbourhood {post.neighbourhood_code}).\n"
        f"See it and respond in Wijkkracht: {link}\n"
    )
    return Mail(
        to=to,
        subject="Hulpvraag in uw buurt / A request near you",
        text=text,
        kind="request_nearby",
    )


def digest_mail(to: str, items: Sequence[Notification], categories: Categories, link: str) -> Mail:
    lines_nl = [
        f"- {categories.label(n.category or '', 'nl')} (wijk {n.neighbourhood_code})" for n in items
    ]
    lines_en = [
        f"- {categories.label(n.category or '', 'en')} (neighbourhood {n.neighbourhood_code})"
        for n in items
    ]
    text = (
        f"Hulpvragen bij u in de buurt sinds het vorige overzicht ({len(items)}):\n"
        + "\n".join(lines_nl)
        + f"\n\nBekijk ze in Wijkkracht: {link}\n\n"
        f"Requests near you since the last digest ({len(items)}):\n"
        + "\n".join(lines_en)
        + f"\n\nSee them in Wijkkracht: {link}\n"
    )
    return Mail(
        to=to,
        subject="Dagoverzicht hulpvragen / Daily digest of requests",
        text=text,
        kind="request_digest",
    )


def notices(
    post: Post,
    volunteers: Sequence[Helper],
    *,
    categories: Categories,
    now: datetime,
    link: str,
) -> tuple[list[Notification], list[Mail]]:
    """Notifications for the chosen volunteers and the mail for those who want it at once
    (the digest job mails the others): decided before the transaction that stores them."""
    out: list[Notification] = []
    mails: list[Mail] = []
    for profile in volunteers:
        delivery = _delivery(profile)
        item = notification(
            profile.person_id, NotificationKind.REQUEST_NEARBY, now, post=post, delivery=delivery
        )
        if delivery is Delivery.IMMEDIATE and profile.email is not None:
            mails.append(request_mail(profile.email, post, categories, link))
            item = item.model_copy(update={"mailed_at": now})
        out.append(item)
    return out, mails


async def tell_volunteers(
    r: Repository,
    post: Post,
    volunteers: Sequence[Helper],
    *,
    categories: Categories,
    now: datetime,
    link: str,
) -> list[Notification]:
    """Store the notifications and stage the mail of `notices`."""
    out, mails = notices(post, volunteers, categories=categories, now=now, link=link)
    await r.stage_mails(mails)
    await r.add_notifications(out)
    return out
