"""The neighbourhood market (resident): browse posts nearby (neighbourhood and distance band,
never an address), ask for or offer help, one's own posts (renew, close), respond, messages
per match, agree to share contact details, mark the help done, report a post; groups (list,
join an open one).

Everything goes through the marketplace's public API with the resident's token; neighbourhood
names come from identity's neighbourhood table."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from portal.api import ApiError
from portal.pages.learning import problem_messages
from portal.web import Form, Page, PageDep, field, format_date

router = APIRouter(prefix="/market")
KINDS = ("request", "offer")
TIMINGS = ("flexible", "once", "recurring")
PARTS_OF_DAY = ("morning", "afternoon", "evening")
VISIBILITIES = ("tenant", "neighbourhood", "group")
RADII = ("1", "3", "5", "10")
REASONS = ("unsafe", "inappropriate", "spam", "commercial", "other")
TEXT_MAX = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class PostForm:
    """What the resident typed, kept to show the form again after a mistake."""

    kind: str = "request"
    category: str = ""
    text: str = ""
    timing: str = "flexible"
    on: str = ""
    weekdays: list[int] = dc_field(default_factory=list)
    part_of_day: str = ""
    visibility: str = "tenant"
    group_id: str = ""
    radius_km: str = "3"

    @classmethod
    def read(cls, form: FormData) -> PostForm:
        def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = field(form, name)
            return value if value in allowed else default

        days = sorted(
            {int(v) for v in form.getlist("weekdays") if isinstance(v, str) and v in "0123456"}
        )
        return cls(
            kind=pick("kind", KINDS, "request"),
            category=field(form, "category"),
            text=field(form, "text")[:TEXT_MAX],
            timing=pick("timing", TIMINGS, "flexible"),
            on=field(form, "on"),
            weekdays=days,
            part_of_day=pick("part_of_day", PARTS_OF_DAY, ""),
            visibility=pick("visibility", VISIBILITIES, "tenant"),
            group_id=field(form, "group_id"),
            radius_km=pick("radius_km", RADII, "3"),
        )

    def problems(self, categories: set[str]) -> list[str]:
        """Text keys of what is missing, checked here so the messages are plain words."""
        found = []
        if self.category not in categories:
            found.append("market_error_category")
        if not self.text:
            found.append("market_error_text")
        if self.timing == "once" and not _DATE.match(self.on):
            found.append("market_error_date")
        if self.timing == "recurring" and not self.weekdays:
            found.append("market_error_weekdays")
        if self.visibility == "group" and not self.group_id:
            found.append("market_error_group")
        return found

    def body(self) -> dict[str, Any]:
        when: dict[str, Any] = {"timing": self.timing}
        if self.timing == "once":
            when["on"] = self.on
        if self.timing == "recurring":
            when["weekdays"] = self.weekdays
        if self.part_of_day:
            when["part_of_day"] = self.part_of_day
        body: dict[str, Any] = {
            "kind": self.kind,
            "category": self.category,
            "text": self.text,
            "when": when,
            "visibility": self.visibility,
            "radius_km": float(self.radius_km),
        }
        if self.visibility == "group":
            body["group_id"] = self.group_id
        return body


@dataclass
class Lookups:
    """Names for codes: categories and neighbourhoods, in the reader's language."""

    categories: dict[str, str]
    neighbourhoods: dict[str, str]


async def _lookups(page: Page) -> Lookups:
    categories, places = await asyncio.gather(
        page.api.get(page.session, "marketplace", "/categories"),
        page.api.get(page.session, "identity", "/neighbourhoods"),
    )
    label = "label_en" if page.lang == "en" else "label_nl"
    return Lookups(
        categories={c["code"]: c.get(label) or c["code"] for c in categories.get("items", [])},
        neighbourhoods={n["code"]: n.get("name") or n["code"] for n in places.get("items", [])},
    )


def when_words(when: dict[str, Any], page: Page) -> str:
    """'Op 3 maart 2026, 's middags' / 'Elke maandag en donderdag' / 'Wanneer het uitkomt'."""
    timing = when.get("timing", "flexible")
    if timing == "once" and when.get("on"):
        words = page.t("market_when_on", date=format_date(str(when["on"]), page.lang))
    elif timing == "recurring" and when.get("weekdays"):
        days = [page.t(f"weekday_{d}") for d in when["weekdays"]]
        joined = (
            days[0] if len(days) == 1 else ", ".join(days[:-1]) + page.t("market_and") + days[-1]
        )
        words = page.t("market_when_every", days=joined)
    else:
        words = page.t("market_when_flexible")
    if when.get("part_of_day"):
        words += ", " + page.t(f"part_{when['part_of_day']}")
    return words


def _render(page: Page, template: str, lookups: Lookups, **context: Any) -> Response:
    return page.render(
        template,
        cats=lookups.categories,
        places=lookups.neighbourhoods,
        when_words=lambda w: when_words(w, page),
        **context,
    )


@router.get("")
async def market(
    page: PageDep,
    kind: str = "",
    category: str = "",
    neighbourhood: str = "",
    cursor: str | None = None,
) -> Response:
    page.require()
    lookups = await _lookups(page)
    found = await page.api.get(
        page.session,
        "marketplace",
        "/posts",
        limit=20,
        cursor=cursor,
        kind=kind if kind in KINDS else None,
        category=category if category in lookups.categories else None,
        neighbourhood_code=neighbourhood if neighbourhood in lookups.neighbourhoods else None,
    )
    more = None
    if found.get("next_cursor"):
        query = {"kind": kind, "category": category, "neighbourhood": neighbourhood}
        more = "/market?" + urlencode(
            {**{k: v for k, v in query.items() if v}, "cursor": found["next_cursor"]}
        )
    return _render(
        page,
        "market/market.html",
        lookups,
        title=page.t("market_title"),
        posts=found.get("items", []),
        chosen={"kind": kind, "category": category, "neighbourhood": neighbourhood},
        more=more,
    )


async def _my_groups(page: Page) -> list[dict[str, Any]]:
    found = await page.api.get(page.session, "marketplace", "/groups")
    return [
        g
        for g in found.get("items", [])
        if (g.get("my_membership") or {}).get("status") == "active"
    ]


async def _post_form(
    page: Page, values: PostForm, *, errors: list[str], status: int = 200
) -> Response:
    lookups, groups = await asyncio.gather(_lookups(page), _my_groups(page))
    return _render(
        page,
        "market/new.html",
        lookups,
        status=status,
        title=page.t("market_ask_title" if values.kind == "request" else "market_offer_title"),
        values=values,
        groups=groups,
        errors=errors,
    )


@router.get("/new")
async def new_post(page: PageDep, kind: str = "request") -> Response:
    page.require()
    return await _post_form(page, PostForm(kind=kind if kind in KINDS else "request"), errors=[])


@router.post("/new")
async def publish(page: PageDep, form: Form) -> Response:
    page.require()
    values = PostForm.read(form)
    lookups = await _lookups(page)
    problems = values.problems(set(lookups.categories))
    if problems:
        return await _post_form(page, values, errors=[page.t(key) for key in problems], status=422)
    try:
        made = await page.api.json(
            page.session, "POST", "marketplace", "/posts", json=values.body()
        )
    except ApiError as error:
        if error.status not in (409, 422):  # 409: the neighbourhood is not known yet
            raise
        return await _post_form(page, values, errors=problem_messages(error, page.lang), status=422)
    page.flash("market_posted")
    return page.redirect(f"/market/posts/{made['id']}")


@router.get("/mine")
async def mine(page: PageDep) -> Response:
    page.require()
    lookups, posts, matches = await asyncio.gather(
        _lookups(page),
        page.api.get(page.session, "marketplace", "/posts/mine", limit=50),
        page.api.get(page.session, "marketplace", "/matches"),
    )
    return _render(
        page,
        "market/mine.html",
        lookups,
        title=page.t("market_mine_title"),
        posts=posts.get("items", []),
        matches=matches.get("items", []),
    )


@router.get("/posts/{post_id}")
async def post(page: PageDep, post_id: str) -> Response:
    user = page.require()
    lookups, found = await asyncio.gather(
        _lookups(page), page.api.get(page.session, "marketplace", f"/posts/{post_id}")
    )
    responses: list[dict[str, Any]] = []
    mine_match = None
    if found.get("mine"):
        answered = await page.api.get(page.session, "marketplace", f"/posts/{post_id}/responses")
        responses = answered.get("items", [])
    else:
        matches = await page.api.get(page.session, "marketplace", "/matches")
        mine_match = next(
            (
                m
                for m in matches.get("items", [])
                if m["post_id"] == post_id and m.get("responder_id") == user.person_id
            ),
            None,
        )
    return _render(
        page,
        "market/post.html",
        lookups,
        title=page.t(f"kind_{found['kind']}")
        + ": "
        + lookups.categories.get(found["category"], found["category"]),
        post=found,
        responses=responses,
        my_match=mine_match,
        reasons=REASONS,
    )


async def _post_action(page: Page, post_id: str, action: str, flash: str) -> Response:
    page.require()
    await page.api.json(page.session, "POST", "marketplace", f"/posts/{post_id}/{action}")
    page.flash(flash)
    return page.redirect("/market/mine")


@router.post("/posts/{post_id}/renew")
async def renew(page: PageDep, _: Form, post_id: str) -> Response:
    return await _post_action(page, post_id, "renewal", "market_renewed")


@router.post("/posts/{post_id}/close")
async def close(page: PageDep, _: Form, post_id: str) -> Response:
    return await _post_action(page, post_id, "cancellation", "market_closed")


@router.post("/posts/{post_id}/respond")
async def respond(page: PageDep, form: Form, post_id: str) -> Response:
    page.require()
    message = field(form, "message")[:TEXT_MAX]
    made = await page.api.json(
        page.session,
        "POST",
        "marketplace",
        f"/posts/{post_id}/responses",
        json={"message": message} if message else None,
    )
    page.flash("market_responded")
    return page.redirect(f"/market/matches/{made['id']}")


@router.post("/posts/{post_id}/report")
async def report(page: PageDep, form: Form, post_id: str) -> Response:
    page.require()
    reason = field(form, "reason")
    await page.api.json(
        page.session,
        "POST",
        "marketplace",
        "/reports",
        json={
            "target": "post",
            "target_id": post_id,
            "reason": reason if reason in REASONS else "other",
            "note": field(form, "note")[:TEXT_MAX],
        },
    )
    page.flash("market_reported")
    return page.redirect("/market")


@router.get("/matches/{match_id}")
async def match(page: PageDep, match_id: str) -> Response:
    user = page.require()
    base = f"/matches/{match_id}"
    lookups, found, messages = await asyncio.gather(
        _lookups(page),
        page.api.get(page.session, "marketplace", base),
        page.api.get(page.session, "marketplace", f"{base}/messages"),
    )
    mine = found.get("owner_id") if found.get("my_side") == "owner" else found.get("responder_id")
    return _render(
        page,
        "market/match.html",
        lookups,
        title=page.t("market_match_title"),
        match=found,
        messages=messages.get("items", []),
        me=mine or user.person_id,
        my_contact=(found.get("contacts") or {}).get(mine or user.person_id),
        errors=[],
    )


@router.post("/matches/{match_id}/messages")
async def send(page: PageDep, form: Form, match_id: str) -> Response:
    page.require()
    text = field(form, "text")[:TEXT_MAX]
    if text:
        await page.api.json(
            page.session,
            "POST",
            "marketplace",
            f"/matches/{match_id}/messages",
            json={"text": text},
        )
        page.flash("market_sent")
    return page.redirect(f"/market/matches/{match_id}#messages")


#: match actions in the portal's words → the marketplace's sub-resources
MATCH_ACTIONS = {
    "accept": ("acceptance", "market_accepted"),
    "decline": ("declination", "market_declined"),
    "done": ("completion", "market_done"),
}


@router.post("/matches/{match_id}/contact")
async def contact(page: PageDep, form: Form, match_id: str) -> Response:
    page.require()
    detail = field(form, "contact")[:200]
    if len(detail) >= 3:
        await page.api.json(
            page.session,
            "POST",
            "marketplace",
            f"/matches/{match_id}/contact",
            json={"contact": detail},
        )
        page.flash("market_contact_shared")
    else:
        page.flash("market_error_contact")
    return page.redirect(f"/market/matches/{match_id}")


@router.post("/matches/{match_id}/{action}")
async def match_action(page: PageDep, _: Form, match_id: str, action: str) -> Response:
    page.require()
    if action not in MATCH_ACTIONS:
        raise ApiError(404, {})
    resource, flash = MATCH_ACTIONS[action]
    await page.api.json(page.session, "POST", "marketplace", f"/matches/{match_id}/{resource}")
    page.flash(flash)
    return page.redirect(f"/market/matches/{match_id}")


@router.get("/groups")
async def groups(page: PageDep) -> Response:
    page.require()
    found = await page.api.get(page.session, "marketplace", "/groups")
    return page.render(
        "market/groups.html", title=page.t("market_groups_title"), groups=found.get("items", [])
    )


@router.post("/groups/{group_id}/join")
async def join(page: PageDep, _: Form, group_id: str) -> Response:
    page.require()
    made = await page.api.json(
        page.session, "POST", "marketplace", f"/groups/{group_id}/membership"
    )
    page.flash("market_joined" if made.get("status") == "active" else "market_join_requested")
    return page.redirect("/market/groups")
