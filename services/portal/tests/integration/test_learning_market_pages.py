"""The learning and market pages in-process, against fakes of the services' public APIs
(httpx2 MockTransport; the login is test_security's fake identity): what each form sends to
the services, where the resident goes next, and how a refused answer is shown."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from asgi_lifespan import LifespanManager

from portal.main import create_app
from portal.settings import Settings


def _security() -> Any:
    """test_security's fake identity and login, loaded by path (test folders are no package)."""
    path = Path(__file__).with_name("test_security.py")
    spec = importlib.util.spec_from_file_location("portal_test_security", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SECURITY = _security()
STEPS = [
    {"id": "lees", "kind": "text", "title": "Lees dit"},
    {
        "id": "vragen",
        "kind": "quiz",
        "title": "Weet u het nog?",
        "questions": [{"id": "v1", "text": "Wat helpt?", "options": ["Bewegen", "Piekeren"]}],
    },
    {"id": "schrijf", "kind": "exercise", "title": "Schrijf op"},
]


class FakePlatform(SECURITY.FakeIdentity):  # type: ignore[misc]
    """Identity (from test_security) plus the learning paths and marketplace routes the pages
    call, keeping what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, Any]] = []
        self.done: list[str] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.busy: set[str] = set()  # paths answered like a service that sheds load

    def _enrolment(self) -> dict[str, Any]:
        finished = len(self.done) == len(STEPS)
        return {
            "id": "e1",
            "content_id": "m1",
            "title": "Ontspannen",
            "status": "completed" if finished else "in_progress",
            "display_status": "completed" if finished else "in_progress",
            "current_step": next((s["id"] for s in STEPS if s["id"] not in self.done), None),
            "progress": {"completed": len(self.done), "required": len(STEPS)},
            "steps": [
                {**s, "required": True, "completed": s["id"] in self.done, "shared": False}
                for s in STEPS
            ],
        }

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        is_json = request.headers.get("content-type", "").startswith("application/json")
        body = json.loads(request.content) if is_json and request.content else None
        if method != "GET" and is_json:
            self.sent.append((method, path, body))
        if any(path.endswith(busy) for busy in self.busy):
            problem = {"type": "urn:wijkkracht:problem:service-busy", "status": 503}
            return httpx2.Response(503, json=problem, headers={"Retry-After": "2"})
        if "/learning-paths/v1" in path:
            return self._learning(method, path.split("/learning-paths/v1", 1)[1], body)
        if "/marketplace/v1" in path:
            return self._market(method, path.split("/marketplace/v1", 1)[1], body)
        if path.endswith("/organisations"):
            return httpx2.Response(200, json={"items": [{"slug": "wd", "name": "Welzijn Demo"}]})
        if path.endswith("/me/consents"):
            return httpx2.Response(200, json={"current": [], "history": []})
        if path.endswith("/neighbourhoods"):
            return httpx2.Response(200, json={"items": [{"code": "DM01", "name": "Centrum"}]})
        answer: httpx2.Response = super().handler(request)
        return answer

    def _learning(self, method: str, path: str, body: Any) -> httpx2.Response:
        if path == "/enrolments" and method == "POST":
            return httpx2.Response(201, json=self._enrolment())
        if path in ("/me/enrolments", "/me/placements", "/paths"):
            return httpx2.Response(200, json={"items": []})
        if path == "/modules":
            module = {"id": "m1", "title": "Ontspannen", "status": "published", "step_count": 3}
            return httpx2.Response(200, json={"items": [module]})
        if path == "/enrolments/e1":
            return httpx2.Response(200, json=self._enrolment())
        step_id = path.split("/")[4]
        step = next(s for s in STEPS if s["id"] == step_id)
        if path.endswith("/answer"):
            self.answers[step_id] = body
            return httpx2.Response(200, json=body)
        if path.endswith("/sharing"):
            return httpx2.Response(200, json=body)
        if path.endswith("/complete"):
            if step["kind"] == "quiz" and self.answers.get(step_id) != {"choices": {"v1": [1]}}:
                problem = {
                    "status": 422,
                    "detail": "Kan niet. / Cannot.",
                    "errors": [
                        {
                            "field": "choices",
                            "message": "Nog niet genoeg goede antwoorden. / Not enough right "
                            "answers yet.",
                        }
                    ],
                }
                return httpx2.Response(422, json=problem)
            self.done.append(step_id)
            return httpx2.Response(200, json=self._enrolment())
        return httpx2.Response(
            200, json={"step": {**step, "html": "<p>Tekst</p>"}, "answer": None, "completed": False}
        )

    def _market(self, method: str, path: str, body: Any) -> httpx2.Response:
        if path == "/categories":
            label = {"code": "shopping", "label_nl": "Boodschappen", "label_en": "Shopping"}
            return httpx2.Response(200, json={"items": [label]})
        if path == "/groups":
            return httpx2.Response(200, json={"items": []})
        if path == "/posts" and method == "POST":
            return httpx2.Response(201, json={"id": "p1"})
        if path in ("/posts", "/posts/mine"):
            return httpx2.Response(200, json={"items": [self._post()], "next_cursor": None})
        if path == "/matches":
            return httpx2.Response(200, json={"items": []})
        if path == "/posts/p1":
            return httpx2.Response(200, json=self._post())
        if path == "/posts/p1/responses":
            return httpx2.Response(200, json={"items": []})
        return httpx2.Response(404, json={"title": "Niet gevonden / Not found"})

    @staticmethod
    def _post() -> dict[str, Any]:
        return {
            "id": "p1",
            "kind": "request",
            "status": "open",
            "category": "shopping",
            "text": "Wie doet boodschappen?",
            "neighbourhood_code": "DM01",
            "distance_band": None,
            "when": {"timing": "recurring", "weekdays": [0, 3]},
            "expires_at": "2030-01-01T00:00:00+00:00",
            "mine": True,
        }


@pytest.fixture
async def signed_in() -> AsyncIterator[tuple[httpx.AsyncClient, FakePlatform, str]]:
    platform = FakePlatform()
    upstream = httpx2.AsyncClient(transport=httpx2.MockTransport(platform.handler))
    settings = Settings(
        issuer=SECURITY.ISSUER, public_url=SECURITY.PORTAL, client_id="portal", client_secret="s"
    )
    app = create_app(settings, http=upstream)
    async with LifespanManager(app, startup_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=SECURITY.PORTAL) as browser:
            await SECURITY._log_in(browser, platform)
            page = await browser.get("/learning")
            assert page.status_code == 200, page.text
            csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            yield browser, platform, csrf
    await upstream.aclose()


async def test_a_module_is_walked_step_by_step_to_its_completion(signed_in) -> None:
    browser, platform, csrf = signed_in
    started = await browser.post("/learning/start", data={"csrf_token": csrf, "content_id": "m1"})
    assert started.headers["location"] == "/learning/e1/steps/lees"
    assert platform.sent[-1] == (
        "POST",
        "/learning-paths/v1/enrolments",
        {"content_id": "m1", "variant": "nl"},
    )
    read = await browser.post("/learning/e1/steps/lees", data={"csrf_token": csrf})
    assert read.headers["location"] == "/learning/e1/steps/vragen"
    wrong = await browser.post(
        "/learning/e1/steps/vragen", data={"csrf_token": csrf, "q-v1": "2", "action": "next"}
    )
    assert wrong.status_code == 422
    assert "Nog niet genoeg goede antwoorden." in wrong.text and "Not enough" not in wrong.text
    right = await browser.post(
        "/learning/e1/steps/vragen", data={"csrf_token": csrf, "q-v1": "1", "action": "next"}
    )
    assert right.headers["location"] == "/learning/e1/steps/schrijf"
    last = await browser.post(
        "/learning/e1/steps/schrijf",
        data={"csrf_token": csrf, "text": "Rust", "share": "yes", "action": "next"},
    )
    assert last.headers["location"] == "/learning/e1"
    assert ("PUT", "/learning-paths/v1/enrolments/e1/steps/schrijf/sharing", {"shared": True}) in (
        platform.sent
    )
    assert platform.answers["schrijf"] == {"text": "Rust"}
    done = await browser.get("/learning/e1")
    assert "U heeft de cursus afgerond." in done.text and "status-completed" in done.text


async def test_saving_for_later_keeps_the_answer_without_completing(signed_in) -> None:
    browser, platform, csrf = signed_in
    later = await browser.post(
        "/learning/e1/steps/schrijf", data={"csrf_token": csrf, "text": "Half", "action": "later"}
    )
    assert later.headers["location"] == "/learning/e1"
    assert platform.answers["schrijf"] == {"text": "Half"} and not platform.done


async def test_sharing_progress_is_a_consent_at_identity(signed_in) -> None:
    browser, platform, csrf = signed_in
    await browser.post("/learning/sharing", data={"csrf_token": csrf, "organisation": "wd"})
    assert platform.sent[-1][2] == {"organisation": "wd", "purpose": "share_learning_progress"}


async def test_asking_for_help_explains_what_is_missing_then_posts(signed_in) -> None:
    browser, platform, csrf = signed_in
    missing = await browser.post(
        "/market/new", data={"csrf_token": csrf, "kind": "request", "timing": "recurring"}
    )
    assert missing.status_code == 422
    for text in ("Kies een onderwerp.", "Schrijf waar het om gaat.", "Kies minstens één dag."):
        assert text in missing.text
    assert not [s for s in platform.sent if s[1].endswith("/posts")]
    posted = await browser.post(
        "/market/new",
        data={
            "csrf_token": csrf,
            "kind": "request",
            "category": "shopping",
            "text": "Wie doet boodschappen?",
            "timing": "recurring",
            "weekdays": ["3", "0"],
            "visibility": "neighbourhood",
        },
    )
    assert posted.headers["location"] == "/market/posts/p1"
    assert platform.sent[-1][2]["when"] == {"timing": "recurring", "weekdays": [0, 3]}
    shown = await browser.get("/market/posts/p1")
    assert "Wie doet boodschappen?" in shown.text
    assert "Centrum" in shown.text and "Elke maandag en donderdag" in shown.text
    for listing in ("/market", "/market/mine"):
        page = await browser.get(listing)
        assert page.status_code == 200 and "Wie doet boodschappen?" in page.text
    renew = '<form method="post" action="/market/posts/p1/renew" class="inline">'
    assert renew in page.text  # the owner may keep the post open longer


async def test_a_service_that_sheds_load_gives_a_busy_page_with_its_retry_after(
    signed_in,
) -> None:
    """Back-pressure reaches the reader: a busy service's 503 becomes a 503 page that says
    so in plain words and carries the service's Retry-After (not a 502 "something broke")."""
    browser, platform, _ = signed_in
    platform.busy.add("/me/consents")
    page = await browser.get("/my-data")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "2"
    assert "Het is nu erg druk" in page.text
    platform.busy.clear()
    assert (await browser.get("/my-data")).status_code == 200
