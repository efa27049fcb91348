"""The portal as an OpenID Connect client of identity: authorization code + PKCE (S256),
a confidential client when a secret is configured, tokens kept in the server-side session."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.sessions import Tokens
from portal.settings import Settings

DISCOVERY_SECONDS = 300.0
ALGORITHMS = ["ES256", "RS256"]


class LoginFailed(Exception):
    """The login could not be completed (state mismatch, refused code, invalid ID token)."""


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    verifier: str
    next_path: str

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state,
            "nonce": self.nonce,
            "verifier": self.verifier,
            "next": self.next_path,
        }


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_next(path: str | None) -> str:
    """Only a local path (no open redirect through //host or a scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class OidcClient:
    def __init__(self, settings: Settings, http: httpx2.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._jwks: dict[str, Any] | None = None

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.time() - self._discovered_at > DISCOVERY_SECONDS:
            url = f"{self.settings.identity_url}/.well-known/openid-configuration"
            answer = await self.http.get(url)
            answer.raise_for_status()
            self._discovery, self._discovered_at = answer.json(), time.time()
        return self._discovery

    async def authorization_url(self, lang: str, next_path: str) -> tuple[str, PendingLogin]:
        pending = PendingLogin(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=safe_next(next_path),
        )
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_uri,
            "scope": self.settings.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge(pending.verifier),
            "code_challenge_method": "S256",
            "ui_locales": lang,
        }
        endpoint = (await self.discovery())["authorization_endpoint"]
        return f"{endpoint}?{urlencode(query)}", pending

    def _client_auth(self, form: dict[str, str]) -> httpx2.BasicAuth | None:
        if self.settings.client_secret:
            return httpx2.BasicAuth(self.settings.client_id, self.settings.client_secret)
        form["client_id"] = self.settings.client_id
        return None

    async def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        auth = self._client_auth(form)
        endpoint = (await self.discovery())["token_endpoint"]
        answer = await self.http.post(endpoint, data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT)
        if answer.status_code != 200:
            raise LoginFailed(f"token endpoint answered {answer.status_code}: {answer.text[:200]}")
        body: dict[str, Any] = answer.json()
        return body

    async def exchange(self, code: str, pending: dict[str, str]) -> Tokens:
        body = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "code_verifier": pending["verifier"],
            }
        )
        if "id_token" in body:
            await self._check_id_token(body["id_token"], pending["nonce"])
        return _tokens(body, None)

    async def refresh(self, tokens: Tokens) -> Tokens | None:
        """New tokens, or None when the refresh token is refused (log in again)."""
        if not tokens.refresh_token:
            return None
        try:
            body = await self._token_request(
                {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
            )
        except LoginFailed:
            return None
        return _tokens(body, tokens.refresh_token)

    async def revoke(self, tokens: Tokens) -> bool:
        """Revoke the refresh token (its whole family) at identity; True when accepted."""
        token, hint = (
            (tokens.refresh_token, "refresh_token")
            if tokens.refresh_token
            else (tokens.access_token, "access_token")
        )
        form = {"token": token, "token_type_hint": hint}
        auth = self._client_auth(form)
        discovery = await self.discovery()
        endpoint = discovery.get("revocation_endpoint") or (
            f"{self.settings.identity_url}/oauth/revoke"
        )
        try:
            answer = await self.http.post(
                endpoint, data=form, auth=auth or httpx2.USE_CLIENT_DEFAULT
            )
        except httpx2.HTTPError:
            return False
        return answer.status_code == 200

    async def _keys(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            answer = await self.http.get((await self.discovery())["jwks_uri"])
            answer.raise_for_status()
            self._jwks = answer.json()
        return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]

    async def _check_id_token(self, id_token: str, nonce: str) -> None:
        issuer = (await self.discovery())["issuer"]
        try:
            try:
                decoded = jwt.decode(id_token, await self._keys(), algorithms=ALGORITHMS)
            except (JoseError, ValueError):  # a key rotated since we fetched the set
                decoded = jwt.decode(
                    id_token, await self._keys(refresh=True), algorithms=ALGORITHMS
                )
            jwt.JWTClaimsRegistry(leeway=30).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise LoginFailed(f"invalid ID token: {error}") from None
        claims = decoded.claims
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != issuer or self.settings.client_id not in audiences:
            raise LoginFailed("ID token for another issuer or client")
        if claims.get("nonce") != nonce:
            raise LoginFailed("ID token nonce does not match")


def _tokens(body: dict[str, Any], previous_refresh: str | None) -> Tokens:
    return Tokens(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or previous_refresh,
        expires_at=time.time() + float(body.get("expires_in", 300)),
    )
