"""`make bench`: run every benchmark in this folder, one after the other, and print figures.

Each script starts its own embedded NATS + database. Nothing asserts; the figures (and the
raw limits measured in the same run) go into the issues' closing notes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "raw_ceilings.py",
    "bench_outbox.py",
    "bench_identity.py",
    "bench_questionnaires.py",
    "bench_effects.py",
    "bench_social_map.py",
]


def main() -> int:
    failed = []
    for name in ORDER:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        start = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE)
        print(
            f"--- {name}: {'ok' if code == 0 else f'exit {code}'} "
            f"in {time.monotonic() - start:.0f}s",
            flush=True,
        )
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
