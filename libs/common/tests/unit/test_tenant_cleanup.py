"""The test plugin cleans a test's tenants after every other fixture of the test is torn
down: an app stopped after the clean-up could still write or publish for those tenants."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
import pytest
from wijkkracht_common.testing import plugin

ORDER = []
plugin.purge_tenant_events = lambda url, t: ORDER.append(("purge", t))
plugin.drop_tenant_databases = lambda url, t: ORDER.append(("drop", t))


@pytest.fixture(scope="session")
def nats_url():
    return "nats://unused"


@pytest.fixture(scope="session")
def mongo_url():
    return "mongodb://unused"


@pytest.fixture
def app(nats_url, mongo_url):
    yield
    ORDER.append(("app stopped", None))


def test_app_first(app, two_tenants):
    ORDER.append(("tenants", [two_tenants.a, two_tenants.b]))


def test_after():
    (_, tenants), stopped, purge, drop = ORDER
    assert stopped == ("app stopped", None)
    assert purge == ("purge", tenants) and drop == ("drop", tenants)
"""


def test_a_tests_tenants_are_cleaned_after_its_apps_stopped(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(INNER)
    # In a process of its own: the inner module replaces the plugin's clean-up functions.
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
