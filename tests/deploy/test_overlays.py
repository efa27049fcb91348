"""The overlays as kustomize builds them (tests/deploy/conftest.py): every resulting manifest
against the Kubernetes schemas, limits and a PodDisruptionBudget for every workload, the
production shape (three-node NATS cluster with JetStream and R3 streams, three-member MongoDB
replica set with access control and TLS, an autoscaler per service, Ingress with TLS),
NetworkPolicies, public URLs and the environment each pod gets."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml
from k8s_build import (
    K8S,
    OVERLAYS,
    ROOT,
    SERVICES,
    by_kind,
    config_data,
    container,
    pod_spec,
    public_url_settings,
    resolved_env,
    workloads,
)
from pymongo.uri_parser import parse_uri

Build = Callable[[str], list[dict[str, Any]]]
K8S_VERSION = "1.30.0"
SLUGS = {slug for slug, _ in SERVICES.values()}
SECRET_VALUES = {
    "app-username": "wijkkracht",
    "app-password": "0123456789abcdef",
    "root-username": "root",
    "root-password": "fedcba9876543210",
}
NATS_SERVER = ROOT / ".venv" / "bin" / "nats-server"
ADAPTER = K8S / "components" / "autoscaling" / "prometheus-adapter-config.yaml"
RULES = ROOT / "deploy" / "observability" / "prometheus-rules.yml"
P95 = "wk:http_request_duration_seconds:p95"
LAG = "wk:consumer_pending:sum"


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), env=env, capture_output=True, text=True, timeout=60, check=False
    )


def check_nats_config(conf: str, folder: Path) -> None:
    """The real server (the one the tests run) accepts the configuration."""
    path = folder / "nats.conf"
    path.write_text(conf)
    result = run(str(NATS_SERVER), "-t", "-c", str(path), env={"POD_NAME": "nats-0"})
    assert result.returncode == 0, result.stderr


def labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    assert not selector.get("matchExpressions"), "matchExpressions are not evaluated here"
    return all(labels.get(k) == v for k, v in wanted.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_manifests_match_kubernetes_schema(build: Build, overlay: str) -> None:
    for doc in build(overlay):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(build: Build, overlay: str) -> None:
    for workload in workloads(build(overlay)):
        spec = pod_spec(workload)
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), (
                    f"{overlay}: {workload['metadata']['name']}/{c['name']} lacks {kind}"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_a_disruption_budget(build: Build, overlay: str) -> None:
    docs = build(overlay)
    budgets = list(by_kind(docs, "PodDisruptionBudget").values())
    for workload in workloads(docs):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if labels_match(b["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{overlay}: {workload['metadata']['name']}: {len(covering)}"
        budget = covering[0]["spec"]
        # It must let a node drain proceed (one pod at a time), not block it.
        assert budget.get("maxUnavailable") == 1 or budget.get("minAvailable") is not None


def test_prod_runs_at_least_two_replicas_and_an_autoscaler_per_service(build: Build) -> None:
    docs = build("prod")
    deployments = by_kind(docs, "Deployment")
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]
        for h in by_kind(docs, "HorizontalPodAutoscaler").values()
    }
    assert set(autoscalers) == SLUGS
    adapter = yaml.safe_load(
        (K8S / "components/autoscaling/prometheus-adapter-config.yaml").read_text()
    )
    custom = {r["name"]["as"] for r in adapter["rules"]}
    external = {r["name"]["as"] for r in adapter["externalRules"]}
    for slug, hpa in autoscalers.items():
        assert deployments[slug]["spec"]["replicas"] >= 2, slug
        assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"], slug
        kinds = {m["type"]: m for m in hpa["metrics"]}
        assert kinds["Resource"]["resource"]["name"] == "cpu", f"{slug}: CPU fallback"
        assert kinds["Pods"]["pods"]["metric"]["name"] in custom, slug
        assert kinds["External"]["external"]["metric"]["name"] in external, slug
        module = next(m for m, (s, _) in SERVICES.items() if s == slug)
        selector = kinds["External"]["external"]["metric"]["selector"]["matchLabels"]
        assert selector == {"service": module}, slug
        # Every service container is sized; the CPU target refers to its request.
        assert container(deployments[slug])["resources"]["requests"]["cpu"]


def test_autoscaling_metrics_are_recorded_by_prometheus() -> None:
    """The adapter reads series that the recording rules produce, and the rules read metrics
    the services and the NATS exporter export."""
    adapter = yaml.safe_load(
        (K8S / "components/autoscaling/prometheus-adapter-config.yaml").read_text()
    )
    rules = yaml.safe_load(RULES.read_text())
    recorded = {r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    for rule in [*adapter["rules"], *adapter["externalRules"]]:
        series = rule["seriesQuery"].split("{")[0].strip("'\"")
        assert series in recorded, series
        assert "<<.LabelMatchers>>" in rule["metricsQuery"]
    assert (
        "wk_http_request_duration_seconds_bucket"
        in recorded["wk:http_request_duration_seconds:p95"]
    )
    assert "jetstream_consumer_num_pending" in recorded["wk:consumer_pending:sum"]
    # Durable consumers are named <consumer_service>__<producer>_<event>_v<N> (messaging.py).
    pattern = re.search(r'"consumer_name", "([^"]+)"', recorded["wk:consumer_pending:sum"])
    assert pattern is not None
    for durable in (
        "effect_measurement__identity_person_registered_v1",
        # A partition of a partitioned consumer (batch_consumer.subscribe_partitioned).
        "effect_measurement__questionnaires_response_submitted_v1__p3of4",
    ):
        match = re.fullmatch(pattern.group(1), durable)
        assert match is not None and match.group(1) == "effect_measurement"


def test_prod_ingress_serves_every_prefix_over_tls(build: Build) -> None:
    docs = build("prod")
    ingress = by_kind(docs, "Ingress")["wijkkracht"]
    services = by_kind(docs, "Service")
    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    assert all(t.get("secretName") for t in ingress["spec"]["tls"])
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    routed: dict[str, str] = {}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts, f"{rule['host']} without TLS"
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            port_names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
            assert backend["port"]["name"] in port_names
            routed[path["path"]] = backend["name"]
    # Every API under its prefix; the reference portal's pages at the root.
    assert routed == {**{prefix: slug for slug, prefix in SERVICES.values()}, "/": "portal"}
    origin = config_data(docs, "wijkkracht-config")["PUBLIC_ORIGIN"]
    assert origin.startswith("https://") and urlsplit(origin).hostname in tls_hosts


def test_prod_nats_is_a_three_node_jetstream_cluster(build: Build, tmp_path: Path) -> None:
    docs = build("prod")
    nats = by_kind(docs, "StatefulSet")["nats"]
    replicas = nats["spec"]["replicas"]
    assert replicas == 3
    conf = config_data(docs, "nats-config")["nats.conf"]
    assert re.search(r"^jetstream\s*\{", conf, re.M), "JetStream is on"
    assert re.search(r"^cluster\s*\{", conf, re.M), "clustered"
    assert "server_name: $POD_NAME" in conf
    routes = re.findall(r"nats://([\w.-]+):6222", conf)
    headless = nats["spec"]["serviceName"]
    assert routes == [f"nats-{i}.{headless}:6222".removesuffix(":6222") for i in range(replicas)]
    assert by_kind(docs, "Service")[headless]["spec"]["clusterIP"] == "None"
    # Every stream replicated on all three servers (the services create them).
    assert config_data(docs, "wijkkracht-config")["WK_STREAM_REPLICAS"] == "3"
    # The NATS Prometheus exporter beside each server, scraped through its annotations.
    exporter = container(nats, "exporter")
    assert "prometheus-nats-exporter" in exporter["image"] and "-jsz=all" in exporter["args"]
    annotations = nats["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "7777"
    if NATS_SERVER.exists():
        check_nats_config(conf, tmp_path)


def test_dev_nats_config_is_accepted_by_the_server(build: Build, tmp_path: Path) -> None:
    conf = config_data(build("dev"), "nats-config")["nats.conf"]
    assert re.search(r"^jetstream\s*\{", conf, re.M)
    if not NATS_SERVER.exists():
        pytest.skip("no nats-server in .venv")
    check_nats_config(conf, tmp_path)


@pytest.mark.parametrize(("overlay", "members", "tls"), [("dev", 1, False), ("prod", 3, True)])
def test_mongodb_is_a_replica_set_with_access_control(
    build: Build, overlay: str, members: int, tls: bool, tmp_path: Path
) -> None:
    docs = build(overlay)
    mongo = by_kind(docs, "StatefulSet")["mongodb"]
    main = container(mongo, "mongodb")
    env = {e["name"]: e for e in main["env"]}
    assert mongo["spec"]["replicas"] == members
    assert env["MONGODB_MEMBERS"]["value"] == str(members), "bootstrap initiates all members"
    assert env["MONGODB_TLS"]["value"] == str(tls).lower()
    # Users come from a Secret; the keyfile (member authentication) from another.
    for var in (
        "MONGO_ROOT_USERNAME",
        "MONGO_ROOT_PASSWORD",
        "MONGO_APP_USERNAME",
        "MONGO_APP_PASSWORD",
    ):
        assert env[var]["valueFrom"]["secretKeyRef"]["name"].startswith("mongodb-users")
    volumes = {v["name"]: v for v in pod_spec(mongo)["volumes"]}
    assert volumes["keyfile"]["secret"]["secretName"].startswith("mongodb-keyfile")
    assert volumes["tls"]["secret"].get("optional") is (not tls)
    assert mongo["spec"]["podManagementPolicy"] == "Parallel"
    governing = by_kind(docs, "Service")[mongo["spec"]["serviceName"]]["spec"]
    assert governing["clusterIP"] == "None" and governing["publishNotReadyAddresses"] is True
    # mongod gets --keyFile (and TLS flags) from its start script.
    scripts = config_data(docs, "mongodb-scripts")
    assert main["command"] == ["bash", "/scripts/mongod.sh"]
    assert "--keyFile" in scripts["mongod.sh"] and "--tlsMode requireTLS" in scripts["mongod.sh"]
    assert "createUser" in scripts["bootstrap.sh"] and "rs.initiate" in scripts["bootstrap.sh"]
    # Every service connects as the application user to all members, with TLS in prod.
    for slug in SLUGS:
        deployment = by_kind(docs, "Deployment")[slug]
        url = resolved_env(docs, deployment, SECRET_VALUES)["WK_MONGO_URL"]
        # The driver opens the CA file while parsing: check where it points, parse with a
        # stand-in file there.
        ca = parse_qs(urlsplit(url).query).get("tlsCAFile", [""])[0]
        if ca:
            mounts = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
            assert str(Path(ca).parent) in mounts, slug
            (tmp_path / "ca.crt").write_text("stand-in")
            url = url.replace(ca, str(tmp_path / "ca.crt"))
        parsed = parse_uri(url)
        assert parsed["username"] == SECRET_VALUES["app-username"], slug
        assert parsed["nodelist"] == [(f"mongodb-{i}.mongodb", 27017) for i in range(members)]
        options = {k.lower(): v for k, v in parsed["options"].items()}
        assert options["replicaset"] == "rs0" and options["authsource"] == "admin"
        assert bool(options.get("tls")) is tls and bool(ca) is tls


def test_mongodb_scripts_are_valid_shell(build: Build, tmp_path: Path) -> None:
    scripts = config_data(build("prod"), "mongodb-scripts")
    for name, text in scripts.items():
        path = tmp_path / name
        path.write_text(text)
        if name.endswith(".sh"):
            result = subprocess.run(
                ["bash", "-n", str(path)], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, f"{name}: {result.stderr}"
        elif name.endswith(".js") and (node := shutil.which("node")):
            result = subprocess.run(
                [node, "--check", str(path)], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, f"{name}: {result.stderr}"


def allowed_peers(
    docs: list[dict[str, Any]], labels: dict[str, str], port: int
) -> list[dict[str, Any]]:
    """The `from` peers NetworkPolicies admit to a pod with `labels` on `port` (a rule without
    `from` admits everyone: returned as {})."""
    peers: list[dict[str, Any]] = []
    for policy in by_kind(docs, "NetworkPolicy").values():
        spec = policy["spec"]
        if not labels_match(spec["podSelector"], labels):
            continue
        for rule in spec.get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            peers.extend(rule.get("from") or [{}])
    return peers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_services_reach_mongodb_and_nats(build: Build, overlay: str) -> None:
    docs = build(overlay)
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["wijkkracht-default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and not deny.get("ingress")
    services = {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "wijkkracht"}}}
    for name, client_port, peer_port in (("mongodb", 27017, 27017), ("nats", 4222, 6222)):
        labels = by_kind(docs, "StatefulSet")[name]["spec"]["template"]["metadata"]["labels"]
        own = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}
        assert services in allowed_peers(docs, labels, client_port), name
        for port in (client_port, peer_port):
            for peer in allowed_peers(docs, labels, port):
                assert peer in (services, own), f"{name}:{port} also admits {peer}"
        # The service pods carry the label the policies admit.
        for slug in SLUGS:
            pod_labels = by_kind(docs, "Deployment")[slug]["spec"]["template"]["metadata"]["labels"]
            assert labels_match(services["podSelector"], pod_labels)
    nats_labels = by_kind(docs, "StatefulSet")["nats"]["spec"]["template"]["metadata"]["labels"]
    for peer in allowed_peers(docs, nats_labels, 7777):
        assert "namespaceSelector" in peer, "metrics only to the monitoring namespace"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_public_urls_follow_the_public_origin(build: Build, overlay: str) -> None:
    """Every service's public-URL setting (issue 15) is set, to the Ingress origin plus the
    service's prefix; the issuer is identity's."""
    docs = build(overlay)
    origin = config_data(docs, "wijkkracht-config")["PUBLIC_ORIGIN"]
    settings = public_url_settings()
    for module, (slug, prefix) in SERVICES.items():
        env = resolved_env(docs, by_kind(docs, "Deployment")[slug])
        assert env["WK_ISSUER"] == f"{origin}/identity/v1", slug
        for var in settings[module]:
            assert env.get(var) == f"{origin}{prefix}", f"{overlay}: {slug} {var}"
        if slug == "identity":
            # The portal client's redirect URIs: the portal, at / of the same origin.
            assert env["WK_PORTAL_PUBLIC_URL"] == origin, overlay
        # Calls to other services stay inside the cluster.
        for var, value in env.items():
            if var.endswith("_URL") and "127.0.0.1" in value:
                pytest.fail(f"{overlay}: {slug} {var}={value} points at the pod itself")


def test_identity_reads_its_key_encryption_key_from_a_secret(build: Build) -> None:
    for overlay in OVERLAYS:
        identity = by_kind(build(overlay), "Deployment")["identity"]
        volumes = {v["name"]: v for v in pod_spec(identity)["volumes"]}
        secret = volumes["kek"]["secret"]
        assert secret["secretName"].startswith("wijkkracht-identity-kek")
        assert secret["defaultMode"] == 0o400
        mount = next(m for m in container(identity)["volumeMounts"] if m["name"] == "kek")
        assert mount["mountPath"] == "/var/run/secrets/wijkkracht/kek" and mount["readOnly"]
        env = {e["name"]: e.get("value") for e in container(identity)["env"]}
        assert env["WK_IDENTITY_KEY_ENCRYPTION_KEY_FILE"] == (
            "/var/run/secrets/wijkkracht/kek/key-encryption-key"
        )


def test_services_trust_forwarded_client_addresses_only_behind_the_policy(build: Build) -> None:
    """Identity throttles logins per client address: behind the Ingress, uvicorn must read it
    from X-Forwarded-For (FORWARDED_ALLOW_IPS), which only the admitted peers can send."""
    docs = build("prod")
    assert config_data(docs, "wijkkracht-config")["FORWARDED_ALLOW_IPS"]
    labels = by_kind(docs, "Deployment")["identity"]["spec"]["template"]["metadata"]["labels"]
    for policy in by_kind(docs, "NetworkPolicy").values():
        if labels_match(policy["spec"]["podSelector"], labels):
            for rule in policy["spec"].get("ingress", []):
                assert rule.get("from"), f"{policy['metadata']['name']} admits everyone"
