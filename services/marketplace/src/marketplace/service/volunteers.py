"""Use cases of volunteers' opt-in: the categories they help with, when, how far, and how
they want to be told about requests (at once, daily, or only in the platform)."""

from __future__ import annotations

from dataclasses import dataclass

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound
from wijkkracht_common.outbox import Staged
from wijkkracht_common.storage import Session

from marketplace.adapters.repositories import Db
from marketplace.domain.errors import DomainValidationError, FieldError
from marketplace.domain.places import validate_radius
from marketplace.domain.posts import PartOfDay
from marketplace.domain.volunteers import NotifyMode, VolunteerProfile
from marketplace.service.acting import acting_for, log_for, log_read
from marketplace.service.context import Context
from marketplace.service.posts import categories_of

NOT_FOUND = "Geen vrijwilligersprofiel. / No volunteer profile."


@dataclass(frozen=True)
class OptIn:
    categories: list[str]
    weekdays: list[int]
    parts_of_day: list[PartOfDay]
    radius_km: float
    notify: NotifyMode
    email: str | None


async def opt_in(
    ctx: Context, principal: Principal, choice: OptIn, *, for_person: str | None = None
) -> VolunteerProfile:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[VolunteerProfile, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        cats = await categories_of(ctx, principal.tenant)
        errors = [
            FieldError(f"categories[{i}]", f"unknown category {c!r}")
            for i, c in enumerate(choice.categories)
            if c not in cats
        ]
        try:
            validate_radius(choice.radius_km)
        except DomainValidationError as error:
            errors += error.errors
        if choice.notify is not NotifyMode.NONE and choice.email is None:
            errors.append(FieldError("email", "an address is needed to be told by mail"))
        if errors:
            raise DomainValidationError(errors)
        before = await r.volunteer(acting.person_id)
        resident = await r.resident(acting.person_id)
        profile = VolunteerProfile(
            person_id=acting.person_id,
            categories=sorted(set(choice.categories)),
            weekdays=sorted(set(choice.weekdays)),
            parts_of_day=sorted(set(choice.parts_of_day)),
            radius_km=choice.radius_km,
            notify=choice.notify,
            email=choice.email,
            neighbourhood_code=resident.neighbourhood_code if resident else None,
            response_hours=before.response_hours if before else [],
            updated_at=now,
        )
        await r.save_volunteer(profile)
        await log_for(r, acting, action="update", resource="volunteer-profile")
        return profile, []

    return await ctx.commit(principal.tenant, work)


async def read(
    ctx: Context, principal: Principal, *, for_person: str | None = None
) -> VolunteerProfile:
    r = await ctx.reader(principal.tenant)
    acting = await acting_for(r, principal, for_person)
    profile = await r.volunteer(acting.person_id)
    if profile is None:
        raise NotFound(NOT_FOUND)
    await log_read(ctx, acting, "volunteer-profile")
    return profile


async def opt_out(ctx: Context, principal: Principal, *, for_person: str | None = None) -> None:
    now = ctx.now()

    async def work(db: Db, session: Session) -> tuple[None, list[Staged]]:
        r = ctx.repo(db, session)
        acting = await acting_for(r, principal, for_person)
        profile = await r.volunteer(acting.person_id)
        if profile is None:
            raise NotFound(NOT_FOUND)
        await r.save_volunteer(profile.model_copy(update={"active": False, "updated_at": now}))
        await log_for(r, acting, action="update", resource="volunteer-profile")
        return None, []

    await ctx.commit(principal.tenant, work)
