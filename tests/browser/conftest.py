"""The browser tier: the platform started like `tests/e2e` does (the `make run` launcher on
free ports), plus the portal process, driven by Playwright in Debian's Chromium.

Select with `pytest -m browser`. Without Chromium (/usr/bin/chromium) or Playwright the tier
is skipped with a loud message; `make test` installs Chromium first where it can."""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from portal.oidc import code_challenge

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("WK_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "wijkkracht-demo"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tier runs last. Playwright's sync API runs its event loop in a greenlet
    of the main thread, so while its session-scoped browser is open every later asyncio test
    finds "a running event loop" (pytest-asyncio: `Runner.run() cannot be called from a
    running event loop`). Stable: the order within each part stays."""
    for item in items:
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(HERE))


def _e2e() -> Any:
    """The e2e tier's launcher and login helper, loaded by path (conftests are no package)."""
    spec = importlib.util.spec_from_file_location("e2e_launcher", ROOT / "tests/e2e/conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


E2E = _e2e()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: Playwright + Chromium tests of the portal")


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is missing (pip install playwright)"
    if importlib.util.find_spec("axe_playwright_python") is None:
        return "the Python package axe-playwright-python is missing"
    return None


@dataclass
class Portal:
    url: str
    platform: Any
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    people: dict[str, str] = field(default_factory=dict)

    def api(self, offset: int, path: str) -> str:
        return str(self.platform.api(offset, path))

    def service_url(self, offset: int) -> str:
        return str(self.platform.url(offset))

    def token(self, email: str, password: str = PASSWORD) -> str:
        return str(E2E.login(self.platform, email, password))

    def register_resident(self, name: str = "Ria Test", pc4: str = "9904") -> str:
        """A fresh resident of welzijn-demo (through identity's public registration)."""
        email = f"portal-{uuid.uuid4().hex[:10]}@demo.test"
        answer = httpx.post(
            self.api(1, "/registrations"),
            json={
                "client_id": "portal",
                "display_name": name,
                "email": email,
                "password": PASSWORD,
                "pc4": pc4,
                "birth_year": 1956,
            },
            timeout=15,
        )
        assert answer.status_code == 201, answer.text
        self.people[email] = str(answer.json()["id"])
        return email


def portal_url(lines: list[str]) -> str:
    """The portal's address from the launcher's summary ("==> Open http://… and log in")."""
    for line in lines:
        match = re.search(r"==> Open (http://\S+) and log in", line)
        if match:
            return match.group(1)
    raise AssertionError("the launcher did not print the portal:\n" + "\n".join(lines))


def client_known(platform: Any, url: str) -> bool:
    """Whether identity shows its login page for the client `portal` with this redirect URI."""
    answer = httpx.get(
        platform.api(1, "/oauth/authorize"),
        params={
            "response_type": "code",
            "client_id": "portal",
            "redirect_uri": f"{url}/callback",
            "scope": "openid",
            "state": "probe",
            "code_challenge": code_challenge(secrets.token_urlsafe(48)),
            "code_challenge_method": "S256",
        },
        timeout=15,
    )
    return answer.status_code == 200


@contextmanager
def running_portal(data: Path) -> Iterator[Portal]:
    """The platform with the portal, as `make run` starts it (the launcher on free ports),
    until closed. The launcher gives identity's demo seed (which registers the client
    `portal`) and the portal the same client secret."""
    secret = secrets.token_urlsafe(24)
    with E2E.launch(data, {"WK_PORTAL_CLIENT_SECRET": secret}) as platform:
        url = portal_url(platform.output)
        assert client_known(platform, url), "identity's demo seed did not register the portal"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WK_")}
        yield Portal(url, platform, platform.process, env, data / "logs" / "portal.log")


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    missing = _browser_missing()
    if missing:
        message = f"!!! BROWSER TIER SKIPPED: {missing}"
        print(f"\n{message}\n", file=sys.stderr)
        pytest.skip(message)
    with running_portal(tmp_path_factory.mktemp("platform")) as running:
        yield running


@pytest.fixture(scope="session")
def browser(portal: Portal) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def manager_email(portal: Portal) -> str:
    """The demo's tenant admin, given the neighbourhood manager role through identity's API."""
    email = "beheer@demo.test"
    token = portal.token(email)
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(portal.api(1, "/me"), headers=headers, timeout=15).json()
    answer = httpx.put(
        portal.api(1, f"/people/{me['id']}/memberships/welzijn-demo"),
        json={"roles": ["tenant_admin", "org_admin", "neighbourhood_manager"]},
        headers=headers,
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    return email
