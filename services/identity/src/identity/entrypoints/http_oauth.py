"""OAuth 2.0 / OpenID Connect endpoints. The token and revocation endpoints answer in the
RFC 6749 error format (the standard there); everything else uses problem+json."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from wijkkracht_common.auth import PersonPrincipal
from wijkkracht_common.errors import Forbidden

from identity.domain import login_csrf as csrf
from identity.domain.authorization_request import AuthorizationRejected, ValidatedAuthorization
from identity.domain.logout import LogoutRejected
from identity.domain.oidc_discovery import (
    AUTHORIZE_PATH,
    DISCOVERY_PATH,
    END_SESSION_PATH,
    INTROSPECTION_PATH,
    JWKS_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    discovery_document,
)
from identity.domain.signing_keys import KeyStatus
from identity.entrypoints.deps import Ctx, client_ip
from identity.entrypoints.login_page import CSRF_REFUSED, ERROR_PAGE, pick_language, render
from identity.entrypoints.logout_page import render_logout
from identity.service import oauth
from identity.service.introspection import introspect
from identity.service.login import LoginRefused, login_with_code, login_with_password
from identity.service.logout import logout

router = APIRouter(tags=["oauth"])

_AUTH_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get(DISCOVERY_PATH)
async def openid_configuration(ctx: Ctx) -> JSONResponse:
    keys = (await ctx.keys.current()).keys
    algs = {k.alg for k in keys if k.status is KeyStatus.ACTIVE}
    return JSONResponse(discovery_document(ctx.policy.issuer, signing_algs=algs))


@router.get(JWKS_PATH)
async def jwks(ctx: Ctx) -> JSONResponse:
    # Short public caching: verifiers refresh on unknown kid anyway.
    return JSONResponse(await ctx.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


def _auth_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k in _AUTH_FIELDS]


async def _validated(
    ctx: Ctx, pairs: list[tuple[str, str]], lang: str, action: str
) -> ValidatedAuthorization | Response:
    try:
        return await oauth.validate_authorization(ctx, pairs)
    except AuthorizationRejected as rejected:
        location = rejected.redirect_location()
        if location is None:  # unknown client or redirect URI: never redirect (open redirect)
            return render(
                lang=lang, action=action, params=[], status=400, error=ERROR_PAGE, show_form=False
            )
        return RedirectResponse(location, status_code=303)


class _LoginForm:
    """CSRF double-submit for one authorization request (see `domain.login_csrf`)."""

    def __init__(self, request: Request, ctx: Ctx, pairs: list[tuple[str, str]]) -> None:
        self.ctx = ctx
        self.secure = ctx.policy.issuer.startswith("https://")
        self.cookie_name = csrf.SECURE_COOKIE_NAME if self.secure else csrf.COOKIE_NAME
        presented = request.cookies.get(self.cookie_name)
        self.presented = presented if csrf.is_cookie_value(presented) else None
        self.cookie_value = self.presented or csrf.new_cookie_value(ctx.random)
        self.binding = csrf.request_binding(pairs)

    def token(self) -> str:
        return csrf.issue_form_token(
            self.ctx.csrf_key, self.cookie_value, self.binding, int(time.time())
        )

    def accepts(self, token: str | None) -> bool:
        return csrf.verify_form_token(
            self.ctx.csrf_key,
            cookie_value=self.presented,
            token=token,
            binding=self.binding,
            now=int(time.time()),
            max_age=self.ctx.settings.login_form_max_age_seconds,
        )

    def attach(self, response: Response) -> Response:
        """(Re)sets the cookie: a new browser gets one, an existing one is refreshed."""
        response.set_cookie(
            self.cookie_name,
            self.cookie_value,
            max_age=self.ctx.settings.login_form_max_age_seconds,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )
        return response


@router.get(AUTHORIZE_PATH, response_class=Response)
async def authorize_page(request: Request, ctx: Ctx) -> Response:
    pairs = _auth_params(list(request.query_params.multi_items()))
    lang = pick_language(request.query_params.get("ui_locales"))
    action = str(request.url.path)
    validated = await _validated(ctx, pairs, lang, action)
    if isinstance(validated, Response):
        return validated
    client = await oauth.load_client(ctx, validated.client_id)
    form = _LoginForm(request, ctx, pairs)
    return form.attach(
        render(
            lang=lang,
            action=action,
            params=pairs,
            csrf_token=form.token(),
            client_name=client.name if client else None,
            redirect_uri=validated.redirect_uri,
        )
    )


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
    client_name = client.name if client else None
    email = values.get("email", "").strip()
    login_form = _LoginForm(request, ctx, pairs)
    if not login_form.accepts(values.get(csrf.FIELD_NAME)):
        # No login attempt (and no throttle count): show a fresh form with a valid token.
        return login_form.attach(
            render(
                lang=lang,
                action=action,
                params=pairs,
                error=CSRF_REFUSED,
                email=email,
                client_name=client_name,
                status=403,
                csrf_token=login_form.token(),
                redirect_uri=validated.redirect_uri,
            )
        )
    code = values.get("login_code", "").strip()
    try:
        if code:
            person = await login_with_code(ctx, validated.tenant, code, client_ip(request))
        else:
            person = await login_with_password(
                ctx, validated.tenant, email, values.get("password", ""), client_ip(request)
            )
    except LoginRefused as refused:
        throttled = refused.retry_after is not None
        return login_form.attach(
            render(
                lang=lang,
                action=action,
                params=pairs,
                error=refused.text,
                email=email,
                client_name=client_name,
                csrf_token=login_form.token(),
                redirect_uri=validated.redirect_uri,
                status=429 if throttled else 401,
                headers={"Retry-After": str(refused.retry_after)} if throttled else None,
            )
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
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    form = await request.form()
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if len({k for k, _ in items}) != len(items):
        return None
    return dict(items)


def _invalid_request(description: str) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=400,
        headers=NO_STORE,
    )


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


@router.post(INTROSPECTION_PATH)
async def introspection(request: Request, ctx: Ctx) -> JSONResponse:
    """RFC 7662 for confidential clients (HTTP Basic or form credentials): `{"active":
    false}` for any token that is not valid for the asking client."""
    form = await _form(request)
    if form is None:
        return _invalid_request("form-encoded body without repeated parameters required")
    return _oauth_response(await introspect(ctx, form, request.headers.get("authorization")))


async def _end_session(request: Request, ctx: Ctx) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0: ends the login named by `id_token_hint`
    (its refresh tokens and the access tokens issued from them are revoked everywhere),
    then back to a registered `post_logout_redirect_uri` with `state`, or our own page."""
    if request.method == "POST":
        form = await request.form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        pairs = list(request.query_params.multi_items())
    lang = pick_language(dict(pairs).get("ui_locales"))
    try:
        decision = await logout(ctx, pairs)
    except LogoutRejected:
        return render_logout(lang=lang, ok=False)
    if decision.redirect_to is not None:
        return RedirectResponse(decision.redirect_to, status_code=303, headers=NO_STORE)
    return render_logout(lang=lang, ok=True)


# One route per method: each gets its own operation id in the OpenAPI document.
for _method in ("GET", "POST"):
    router.add_api_route(END_SESSION_PATH, _end_session, methods=[_method], response_class=Response)


async def _userinfo(principal: PersonPrincipal, ctx: Ctx) -> JSONResponse:
    claims = await oauth.userinfo(ctx, principal)
    if claims is None:
        raise Forbidden(
            "Dit token geeft geen toegang tot userinfo. / This token does not grant userinfo.",
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    return JSONResponse(claims, headers=NO_STORE)


for _method in ("GET", "POST"):
    router.add_api_route(USERINFO_PATH, _userinfo, methods=[_method], tags=["oauth"])
