"""`scripts/new_service.py` makes a complete service from the skeleton: every file renamed,
no trace of the skeleton left, and the result is valid Python."""

from __future__ import annotations

import py_compile
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_service_is_rendered_from_the_skeleton(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/new_service.py"),
            "garden_club",
            "--port",
            "8123",
            "--prefix",
            "/garden-club/v1",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    service = tmp_path / "services/garden_club"
    assert (service / "src/garden_club/main.py").is_file()
    assert (service / "src/garden_club/service/erasure.py").is_file()
    assert (service / "tests/integration/test_service_starts.py").is_file()
    events = tmp_path / "libs/common/src/wijkkracht_common/events/garden_club.py"
    assert "class GardenClubPersonDataErased" in events.read_text()
    rendered = [p for p in [*service.rglob("*"), events] if p.is_file()]
    for path in rendered:
        text = path.read_text()
        assert "skeleton" not in text.lower(), path
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True)
    assert 'name = "wijkkracht-garden-club"' in (service / "pyproject.toml").read_text()
    assert '"/garden-club/v1"' in (service / "src/garden_club/main.py").read_text()

    again = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/new_service.py"),
            "garden_club",
            "--port",
            "8123",
            "--prefix",
            "/garden-club/v1",
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1  # never overwrites
