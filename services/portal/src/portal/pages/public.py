"""Pages anyone may see: the home page (with each role's tasks once signed in) and the
accessibility statement."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from portal import accessibility
from portal.web import PageDep

router = APIRouter()


@router.get("/")
async def home(page: PageDep) -> Response:
    return page.render("home.html", title=page.t("home_title"))


@router.get("/toegankelijkheid")
async def statement(page: PageDep) -> Response:
    en = page.lang == "en"
    return page.render(
        "statement.html",
        title=page.t("a11y_title"),
        a11y=accessibility,
        methods=accessibility.METHODS_EN if en else accessibility.METHODS_NL,
        limits=accessibility.LIMITS_EN if en else accessibility.LIMITS_NL,
    )
