"""The overlays built by kustomize, once per session (helpers in k8s_build.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from k8s_build import K8S, KUSTOMIZE_INSTALL, kustomize_command


@pytest.fixture(scope="session")
def build() -> Callable[[str], list[dict[str, Any]]]:
    command = kustomize_command()
    if command is None:
        pytest.skip(
            "NO KUSTOMIZE: the overlays were NOT built or checked. Install one with "
            f"`{KUSTOMIZE_INSTALL}` (or `kustomize`/`kubectl` on PATH)"
        )
    cache: dict[str, list[dict[str, Any]]] = {}

    def built(overlay: str) -> list[dict[str, Any]]:
        if overlay not in cache:
            result = subprocess.run(
                [*command, str(K8S / "overlays" / overlay)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"kustomize {overlay}: {result.stderr}"
            cache[overlay] = [d for d in yaml.safe_load_all(result.stdout) if d]
        return cache[overlay]

    return built
