"""Offline validation of deploy/: Kubernetes manifests against the official schemas,
kustomize references, pod hardening, docker-compose and observability configs.
(There is no Docker engine or cluster here; this is what can be checked without one.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"
#: The reference portal: a web front end on the public APIs, deployed like the services.
FRONT_END = "portal"
SERVICES = sorted(p.parent.parent.parent.name for p in (ROOT / "services").glob("*/src/*/main.py"))


def patch_files() -> set[Path]:
    """Files that kustomizations apply as patches: fragments, not whole manifests (the built
    overlays, which include them, are validated in test_overlays.py)."""
    found = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for patch in spec.get("patches", []):
            if "path" in patch:
                found.add((kustomization.parent / patch["path"]).resolve())
    return found


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    patches = patch_files()
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or path.name.endswith("-config.yaml"):
            continue
        if path.resolve() in patches:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path, doc))
    return found


@pytest.mark.parametrize(
    ("path", "doc"),
    manifests(),
    ids=lambda v: v.relative_to(K8S).as_posix() if isinstance(v, Path) else v.get("kind", ""),
)
def test_manifest_matches_kubernetes_schema(path: Path, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kustomize_references_exist() -> None:
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        for ref in [*spec.get("resources", []), *spec.get("components", [])]:
            assert (kustomization.parent / ref).exists(), f"{kustomization}: {ref} missing"
        for patch in spec.get("patches", []):
            if "path" in patch:
                assert (kustomization.parent / patch["path"]).exists(), patch["path"]
        generators = [*spec.get("configMapGenerator", []), *spec.get("secretGenerator", [])]
        for generator in generators:
            for file in generator.get("files", []):
                assert (kustomization.parent / file.split("=")[-1]).exists(), file


def test_every_service_is_deployed() -> None:
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in SERVICES:
        slug = service.replace("_", "-")
        assert slug in base["resources"], f"{service} missing in deploy/k8s/base"
        assert slug in compose["services"], f"{service} missing in docker-compose.yml"


def test_pods_are_hardened() -> None:
    for path, doc in manifests():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, path
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", path
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, path
            assert ctx["capabilities"]["drop"] == ["ALL"], path
            if "part-of" in str(doc["metadata"].get("labels", {})):
                assert ctx["readOnlyRootFilesystem"] is True, path
                assert {"requests", "limits"} <= set(container["resources"]), path
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", path
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", path


def test_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"mongo", "nats", "otel-collector", "jaeger", "prometheus", "grafana"} <= set(services)
    assert "--replSet" in services["mongo"]["command"]  # transactions need a replica set
    for name in SERVICES:
        spec = services[name.replace("_", "-")]
        assert spec["environment"]["SERVICE"] == name
        assert "readyz" in " ".join(spec["healthcheck"]["test"])
        if name == FRONT_END:  # pages only: no database, no broker
            assert "WK_MONGO_URL" not in spec["environment"]
            continue
        assert spec["environment"]["WK_NATS_URL"] == "nats://nats:4222"
        assert "replicaSet=rs0" in spec["environment"]["WK_MONGO_URL"]
    for volume in services["grafana"]["volumes"] + services["prometheus"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).exists(), volume


def test_observability_configs_parse() -> None:
    obs = ROOT / "deploy" / "observability"
    prometheus = yaml.safe_load((obs / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert set(SERVICES) <= jobs
    collector = yaml.safe_load((obs / "otel-collector.yaml").read_text())
    assert collector["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    dashboard = json.loads((obs / "grafana" / "dashboards" / "platform.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("wk_http_requests_total", "wk_outbox_backlog", "wk_events_consumed_total"):
        assert metric in exprs


def test_prometheus_scrapes_prometheus_text_only() -> None:
    """NATS's monitoring endpoints are JSON: NATS is scraped through its Prometheus exporter."""
    obs = ROOT / "deploy" / "observability"
    prometheus = yaml.safe_load((obs / "prometheus.yml").read_text())
    nats = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "nats")
    assert nats.get("metrics_path", "/metrics") == "/metrics"
    target = nats["static_configs"][0]["targets"][0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    exporter = compose["services"][target.split(":")[0]]
    assert "prometheus-nats-exporter" in exporter["image"]
    assert "http://nats:8222" in exporter["command"]
