"""HTTP routes: one router per area, all under the service's prefix."""

from __future__ import annotations

from fastapi import APIRouter

from marketplace.entrypoints import (
    http_groups,
    http_matches,
    http_me,
    http_posts,
    http_print,
    http_safety,
)

router = APIRouter()
for area in (http_posts, http_matches, http_groups, http_safety, http_me, http_print):
    router.include_router(area.router)
