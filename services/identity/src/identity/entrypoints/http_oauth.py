"""OAuth 2.0 / OpenID Connect endpoints. The token and revocation endpoints answer in the
RFC 6749 error format (the standard there); everything else uses problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from wijkkracht_common.auth import CurrentPrincipal
from wijkkracht_common.errors import Forbidden

from identity.domain.authorization_request import AuthorizationRejected
from identity.domain.oidc_discovery import (
    AUTHORIZE_PATH,
    DISCOVERY_PATH,
    JWKS_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    discovery_document,
)
from identity.entrypoints.deps import Ctx, client_ip
from identity.entrypoints.login_page import ERROR_PAGE, pick_language, render
from identity.service import oauth
from identity.service.login import LoginRefused, login_with_code, login_with_password

router = APIRouter(tags=["oauth"])

_AUTH_FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state",
                "code_challenge", "code_challenge_method", "nonce")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get(DISCOVERY_PATH)
async def openid_configuration(ctx: Ctx) -> JSONResponse:
    algs = {k.alg for k in (await ctx.keys.current()).keys}
    return JSONResponse(discovery_document(ctx.policy.issuer, signing_algs=algs))


@router.get(JWKS_PATH)
async def jwks(ctx: Ctx) -> JSONResponse:
    # Short public caching: verifiers refresh on unknown kid anyway.
    return JSONResponse(await ctx.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


def _auth_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k in _AUTH_FIELDS]


async def _validated(ctx: Ctx, pairs: list[tuple[str, str]], lang: str, action: str) -> Any:
    try:
        return await oauth.validate_authorization(ctx, pairs)
    except AuthorizationRejected as rejected:
        location = rejected.redirect_location()
        if location is None:  # unknown client or redirect URI: never redirect (open redirect)
            return render(lang=lang, action=action, params=[], status=400, error=ERROR_PAGE,
                          show_form=False)
        return RedirectResponse(location, status_code=303)


@router.get(AUTHORIZE_PATH, response_class=Response)
async def authorize_page(request: Request, ctx: Ctx) -> Response:
    pairs = _auth_params(list(request.query_params.multi_items()))
    lang = pick_language(request.query_params.get("ui_locales"))
    action = str(request.url.path)
    validated = await _validated(ctx, pairs, lang, action)
    if isinstance(validated, Response):
        return validated
    client = await oauth.load_client(ctx, validated.client_id)
    return render(lang=lang, action=action, params=pairs,
                  client_name=client.name if client else None)


@router.post(AUTHORIZE_PATH, response_class=Response)
async def authorize_submit(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    pairs = _auth_params(items)
    values = dict(items)
    lang = pick_language(values.get("lang"))
    action = str(request.url.path)
    validated = await _validated(ctx, pairs, lang, action)
    if isinstance(validated, Response):
        return validated
    client = await oauth.load_client(ctx, validated.client_id)
    email = values.get("email", "").strip()
    code = values.get("login_code", "").strip()
    try:
        if code:
            person = await login_with_code(ctx, validated.tenant, code, client_ip(request))
        else:
            person = await login_with_password(ctx, validated.tenant, email,
                                               values.get("password", ""), client_ip(request))
    except LoginRefused as refused:
        throttled = refused.retry_after is not None
        return render(
            lang=lang, action=action, params=pairs, error=refused.text, email=email,
            client_name=client.name if client else None,
            status=429 if throttled else 401,
            headers={"Retry-After": str(refused.retry_after)} if throttled else None,
        )
    location = await oauth.issue_code(ctx, validated, person)
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def _oauth_response(result: oauth.TokenResult) -> JSONResponse:
    headers = dict(NO_STORE)
    if result.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="wijkkracht"' if result.basic else "Bearer"
    return JSONResponse(result.body, status_code=result.status, headers=headers)


async def _form(request: Request) -> dict[str, str] | None:
    """Form fields; None when a parameter is repeated (RFC 6749 §3.2) or not a form."""
    if not request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return None
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if len({k for k, _ in items}) != len(items):
        return None
    return dict(items)


def _invalid_request(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "error_description": description},
                        status_code=400, headers=NO_STORE)


@router.post(TOKEN_PATH)
async def token(request: Request, ctx: Ctx) -> JSONResponse:
    form = await _form(request)
    if form is None:
        return _invalid_request("form-encoded body without repeated parameters required")
    return _oauth_response(await oauth.token(ctx, form, request.headers.get("authorization")))


@router.post(REVOCATION_PATH)
async def revoke(request: Request, ctx: Ctx) -> JSONResponse:
    form = await _form(request)
    if form is None:
        return _invalid_request("form-encoded body without repeated parameters required")
    return _oauth_response(await oauth.revoke(ctx, form, request.headers.get("authorization")))


async def _userinfo(principal: CurrentPrincipal, ctx: Ctx) -> JSONResponse:
    claims = await oauth.userinfo(ctx, principal)
    if claims is None:
        raise Forbidden(
            "Dit token geeft geen toegang tot userinfo. / This token does not grant userinfo.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    return JSONResponse(claims, headers=NO_STORE)


router.add_api_route(USERINFO_PATH, _userinfo, methods=["GET", "POST"], tags=["oauth"])
