"""Runs the service skeleton's own tests in place (templates/service), as they will run in a
service made from it: its package on the path, its events module registered where
`scripts/new_service.py` puts a new service's events (`wijkkracht_common.events.<name>`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SKELETON = Path(__file__).parent / "service"
sys.path.insert(0, str(SKELETON / "src"))

_spec = importlib.util.spec_from_file_location(
    "wijkkracht_common.events.skeleton", SKELETON / "events_module.py"
)
assert _spec is not None and _spec.loader is not None
_events = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _events
_spec.loader.exec_module(_events)
