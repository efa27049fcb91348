"""Make a new service from the skeleton (templates/service).

    python scripts/new_service.py learning_paths --port 8003 --prefix /learning-paths/v1

Writes services/<name>/ (package `<name>`, its tests included) and the service's events
module libs/common/src/wijkkracht_common/events/<name>.py. It refuses to overwrite anything.
What it cannot do for you is printed at the end (streams, identity's erasure list, launcher,
compose, k8s, event catalog).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "service"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
PREFIX = re.compile(r"^/[a-z][a-z0-9-]*/v[0-9]+$")
SKIPPED = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def render(text: str, *, name: str, port: int, prefix: str) -> str:
    text = text.replace("/skeleton/v1", prefix).replace("8099", str(port))
    text = text.replace("Skeleton", camel(name)).replace("skeleton", name)
    return text.replace("wijkkracht-" + name, "wijkkracht-" + name.replace("_", "-"))


def plan(root: Path, name: str) -> dict[Path, Path]:
    """Template file -> destination."""
    out: dict[Path, Path] = {}
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir() or SKIPPED.intersection(source.parts):
            continue
        relative = source.relative_to(TEMPLATE)
        if relative == Path("events_module.py"):
            target = root / "libs/common/src/wijkkracht_common/events" / f"{name}.py"
        else:
            target = (
                root
                / "services"
                / name
                / Path(*(name if p == "skeleton" else p for p in relative.parts))
            )
        out[source] = target
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="package name, e.g. learning_paths")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True, help="HTTP prefix, e.g. /learning-paths/v1")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (tests)")
    args = parser.parse_args(argv)
    if not NAME.match(args.name) or args.name == "skeleton":
        parser.error("name: lower case letters, digits and _ (e.g. learning_paths)")
    if not PREFIX.match(args.prefix):
        parser.error("prefix: like /learning-paths/v1")
    files = plan(args.root, args.name)
    existing = [t for t in files.values() if t.exists()]
    if existing:
        print(f"Bestaat al / already exists: {existing[0]}", file=sys.stderr)
        return 1
    for source, target in files.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            render(source.read_text(), name=args.name, port=args.port, prefix=args.prefix)
        )
    print(f"services/{args.name} made from the skeleton. Still to do by hand:")
    print(f"- add {args.name!r} to wijkkracht_common.messaging.PRODUCERS if missing (its stream)")
    print("- add its person_data_erased class to identity's erasure consumers")
    print("- scripts/devstack.py, docker-compose.yml, deploy/k8s/base, README; `make schemas`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
