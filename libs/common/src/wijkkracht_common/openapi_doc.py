"""What every service's OpenAPI document declares beyond FastAPI's defaults, so generated
clients work: how to authenticate (OAuth 2.0 with identity's endpoints, or a bearer JWT), which
operations need a token, and that errors are RFC 9457 problems. `create_base_app` installs it;
`tests/contract/test_openapi.py` validates every service's document with openapi-spec-validator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from wijkkracht_common.auth import operation_stances
from wijkkracht_common.errors import PROBLEM_JSON

#: RFC 9457 problem, as every service answers errors.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "URI of the problem kind"},
        "title": {"type": "string", "description": "Dutch first, then English"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "field-level errors (validation)",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}

_ERRORS = {
    "401": "Geen of ongeldig token. / Missing or invalid token.",
    "403": "Niet toegestaan. / Not allowed.",
    "404": "Niet gevonden. / Not found.",
    "413": "Verzoek te groot. / Request body too large.",
    "422": "Ongeldige invoer. / Invalid input.",
    "429": "Te veel verzoeken. / Too many requests.",
    "503": "Tijdelijk niet beschikbaar. / Temporarily unavailable (see Retry-After).",
}
_PUBLIC_ERRORS = ("404", "413", "422", "429", "503")
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def security_schemes(issuer: str) -> dict[str, Any]:
    base = issuer.rstrip("/")
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Tokens from identity (OpenID Connect discovery at "
            f"{base}/.well-known/openid-configuration).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{base}/oauth/authorize",
                    "tokenUrl": f"{base}/oauth/token",
                    "refreshUrl": f"{base}/oauth/token",
                    "scopes": {"openid": "the person's identity", "profile": "name and role"},
                },
                "clientCredentials": {"tokenUrl": f"{base}/oauth/token", "scopes": {}},
            },
        },
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }


def complete(app: FastAPI, document: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The document with security, problem responses and unique operation ids."""
    stances = {(s.method.lower(), s.path): s.stance for s in operation_stances(app)}
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = security_schemes(issuer)
    seen: set[str] = set()
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            operation_id = operation.get("operationId")
            if operation_id is not None:
                if operation_id in seen:  # one route serving two methods: one id each
                    operation["operationId"] = operation_id = f"{operation_id}_{method}"
                seen.add(operation_id)
            needs_token = stances.get((method, path), "public") != "public"
            if needs_token:
                operation["security"] = [{"oauth2": []}, {"bearerAuth": []}]
            responses = operation.setdefault("responses", {})
            for status in _ERRORS if needs_token else _PUBLIC_ERRORS:
                if status == "422" or status not in responses:
                    responses[status] = _problem(_ERRORS[status])
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    return document


def install(app: FastAPI, issuer: str) -> None:
    """Replace the app's `openapi()` by one that completes FastAPI's document (cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(app, document, issuer)
        return app.openapi_schema

    replacement: Callable[[], dict[str, Any]] = openapi
    app.openapi = replacement  # type: ignore[method-assign]
