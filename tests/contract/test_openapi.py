"""Every service's OpenAPI document is valid under openapi-spec-validator, declares how to
authenticate, which operations need a token, and RFC 9457 problems for errors."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from wijkkracht_common.auth import operation_stances
from wijkkracht_common.testing.issuer import TestIssuer
from wijkkracht_common.testing.plugin import TEST_ISSUER_URL

ROOT = Path(__file__).resolve().parents[2]
#: The API services (the portal is a web front end: it serves pages, not an API).
SERVICES = sorted(
    p.parent.name for p in (ROOT / "services").glob("*/src/*/main.py") if p.parent.name != "portal"
)


ISSUER = TestIssuer(TEST_ISSUER_URL)


def app_of(service: str) -> FastAPI:
    main = importlib.import_module(f"{service}.main")
    settings_cls = importlib.import_module(f"{service}.settings").Settings
    # dev: demo secrets allowed; tokens of the test issuer
    settings = settings_cls(env="dev", demo_seed=False, issuer=TEST_ISSUER_URL)
    app: FastAPI = main.create_app(settings, verifier=ISSUER.verifier())  # env-independent
    return app


@pytest.fixture(scope="module", params=SERVICES)
def app(request: pytest.FixtureRequest) -> FastAPI:
    return app_of(request.param)


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def test_every_operation_declares_who_may_call_it(app: FastAPI) -> None:
    """A person, a machine client too, or anyone: never left to chance (issue 16); each
    service's own tests call its person-only operations with a machine token."""
    undeclared = [
        f"{s.method} {s.path}" for s in operation_stances(app) if s.stance == "undeclared"
    ]
    assert undeclared == []


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_security_is_declared_and_errors_are_problems(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["oauth2"]["flows"]["authorizationCode"]["tokenUrl"].endswith("/oauth/token")
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    operations = [
        op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "responses" in op
    ]
    assert operations
    for operation in operations:
        problems = [
            r for status, r in operation["responses"].items() if status.startswith(("4", "5"))
        ]
        assert problems, operation.get("operationId")
        for response in problems:
            if "content" in response:
                assert "application/problem+json" in response["content"], operation.get(
                    "operationId"
                )
    assert any("security" in op for op in operations)


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))


def test_person_only_operations_refuse_a_machine_token(app: FastAPI) -> None:
    """The stance holds before anything else runs (path values and bodies do not matter).
    Synchronous (TestClient runs the app in its own thread): the browser tier before it leaves
    an event loop behind in this one."""
    machine = ISSUER.headers(sub="client:partner", tenant="demo", client_id="partner")
    client = TestClient(app)  # no lifespan: the stance is decided before any I/O
    for operation in operation_stances(app):
        if operation.stance != "person":
            continue
        path = operation.path.replace("{", "").replace("}", "")
        answer = client.request(operation.method, path, headers=machine)
        assert answer.status_code == 403, (operation, answer.text[:200])
