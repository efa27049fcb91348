"""docker-compose.yml offline (no Docker engine here): MongoDB with access control (root user
from the environment, keyfile from a compose secret, the services' own user), its network,
identity's key-encryption key as a compose secret, public URLs, and `.env.example` in step
with the defaults the file interpolates."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import yaml
from k8s_build import ROOT, SERVICES, public_url_settings
from pymongo.uri_parser import parse_uri

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
#: `${VAR:-default}` (compose interpolation); `$$` is a literal dollar.
VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()]
    return {p[0].strip(): p[1].strip() for p in pairs if len(p) == 2 and not p[0].startswith("#")}


def interpolate(value: str) -> str:
    """What compose makes of a value with only the defaults (no `.env`)."""
    return VARIABLE.sub(lambda m: m.group(2), value).replace("$$", "$")


def compose() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return spec


def test_env_example_lists_every_variable_with_its_default() -> None:
    used = dict(VARIABLE.findall(COMPOSE.read_text()))
    assert used, "docker-compose.yml interpolates its settings"
    assert env_example() == used


def test_mongodb_runs_with_access_control_and_a_keyfile() -> None:
    spec = compose()
    mongo = spec["services"]["mongo"]
    env = {k: interpolate(v) for k, v in mongo["environment"].items()}
    # The image creates the root user from these on an empty volume, and turns on --auth.
    assert env["MONGO_INITDB_ROOT_USERNAME"] and env["MONGO_INITDB_ROOT_PASSWORD"]
    assert "${" in mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"], "from the environment"
    command = mongo["command"]
    keyfile = command[command.index("--keyFile") + 1]
    # The keyfile comes from a compose secret, installed owner-only before mongod starts.
    assert "mongo-keyfile" in mongo["secrets"]
    entrypoint = " ".join(mongo["entrypoint"])
    assert f"/run/secrets/mongo-keyfile {keyfile}" in entrypoint and "-m 0400" in entrypoint
    secret_file = ROOT / interpolate(spec["secrets"]["mongo-keyfile"]["file"])
    text = secret_file.read_text().strip()
    assert 6 <= len(text) <= 1024 and re.fullmatch(r"[A-Za-z0-9+/=]+", text)
    # The services' user is created on first start by the same script as in Kubernetes.
    init = [v for v in mongo["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and (ROOT / init[0].split(":")[0]).exists()
    assert env["MONGO_APP_USERNAME"] != env["MONGO_INITDB_ROOT_USERNAME"]
    health = " ".join(mongo["healthcheck"]["test"])
    assert "MONGO_INITDB_ROOT_PASSWORD" in health and "rs.initiate" in health


def test_services_connect_as_their_own_user_on_the_internal_network() -> None:
    spec = compose()
    services = spec["services"]
    mongo_env = {k: interpolate(v) for k, v in services["mongo"]["environment"].items()}
    assert spec["networks"]["data"]["internal"] is True
    assert services["mongo"]["networks"] == ["data"] and "ports" not in services["mongo"]
    slugs = {slug for slug, _ in SERVICES.values()}
    on_data = {name for name, s in services.items() if "data" in s.get("networks", [])}
    assert on_data == slugs | {"mongo", "nats"}
    for slug in slugs:
        url = interpolate(services[slug]["environment"]["WK_MONGO_URL"])
        parsed = parse_uri(url)
        assert parsed["username"] == mongo_env["MONGO_APP_USERNAME"], slug
        assert parsed["password"] == mongo_env["MONGO_APP_PASSWORD"], slug
        options = {k.lower(): v for k, v in parsed["options"].items()}
        assert options["authsource"] == "admin" and options["replicaset"] == "rs0"


def test_identity_reads_its_key_encryption_key_from_a_compose_secret() -> None:
    spec = compose()
    identity = spec["services"]["identity"]
    assert identity["secrets"] == ["identity-kek"]
    path = identity["environment"]["WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE"]
    assert path == "/run/secrets/identity-kek"
    key = (ROOT / interpolate(spec["secrets"]["identity-kek"]["file"])).read_text().strip()
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 32


def test_every_public_url_setting_is_set() -> None:
    services = compose()["services"]
    for module, (slug, prefix) in SERVICES.items():
        env = {k: interpolate(str(v)) for k, v in services[slug]["environment"].items()}
        assert env["WK_ISSUER"].endswith("/identity/v1"), slug
        for var in public_url_settings()[module]:
            assert env.get(var, "").endswith(prefix), f"{slug}: {var}"
        for var, value in env.items():
            assert not (var.endswith("_URL") and "127.0.0.1" in value), f"{slug}: {var}"


def test_identity_points_the_portal_client_at_the_portal() -> None:
    services = compose()["services"]
    identity = services["identity"]["environment"]["WK_PORTAL_PUBLIC_URL"]
    assert identity == services["portal"]["environment"]["WK_PORTAL_PUBLIC_URL"]


def test_prometheus_loads_the_recording_rules() -> None:
    prometheus = compose()["services"]["prometheus"]
    config = yaml.safe_load((ROOT / "deploy/observability/prometheus.yml").read_text())
    mounted = {v.split(":")[1]: Path(v.split(":")[0]) for v in prometheus["volumes"]}
    for rule_file in config["rule_files"]:
        assert (ROOT / mounted[rule_file]).exists(), rule_file
