"""The printable notice board of a neighbourhood (for community centres) and the summary a
broker reads out on the phone: the neighbourhood's open posts that anyone there may see
(not group posts, not posts under review), with a short reference to ask about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import NotFound

from marketplace.adapters.repositories import PostQuery
from marketplace.domain.categories import Categories
from marketplace.domain.places import Neighbourhood
from marketplace.domain.posts import Post, PostStatus, Scope
from marketplace.service.context import Context
from marketplace.service.posts import categories_of, table_of

BOARD_SIZE = 60
#: Roles that print the board or read it out (brokers, professionals, curators).
BOARD_ROLES = ("broker", "professional", "neighbourhood_manager", "org_admin")


@dataclass(frozen=True)
class Board:
    neighbourhood: Neighbourhood
    posts: list[Post]
    categories: Categories
    printed_at: datetime


def reference(post: Post) -> str:
    """A short code to ask a broker about a post (the end of its random id)."""
    return post.id.replace("-", "")[-6:].upper()


async def board(ctx: Context, principal: Principal, code: str) -> Board:
    r = await ctx.reader(principal.tenant)
    hood = (await table_of(ctx, principal.tenant)).get(code)
    if hood is None:
        raise NotFound("Wijk niet gevonden. / Neighbourhood not found.")

    def public(post: Post) -> bool:
        return post.scope in (Scope.TENANT, Scope.NEIGHBOURHOOD) and not post.under_review

    found, _ = await r.posts_page(
        PostQuery(status=PostStatus.OPEN, neighbourhood_code=code),
        public,
        limit=BOARD_SIZE,
        cursor=None,
    )
    found.sort(key=lambda p: (p.kind.value, p.category, p.created_at))
    return Board(hood, found, await categories_of(ctx, principal.tenant), ctx.now())
