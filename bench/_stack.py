"""Shared helpers for the benchmarks: an embedded NATS + database of their own, and stats.

Benchmarks print figures and compare with raw limits measured in the same run; they never
assert. Each run starts fresh servers on free ports (data in a temporary folder), unless
WK_NATS_URL / WK_MONGO_URL are set.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wijkkracht_common.embedded import free_port, start_mongo, start_nats, stop_all


@dataclass(frozen=True)
class Stack:
    nats_url: str
    mongo_url: str


@contextmanager
def embedded_stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        work = Path(tmp)
        processes = []
        nats_url = os.environ.get("WK_NATS_URL")
        mongo_url = os.environ.get("WK_MONGO_URL")
        try:
            if not nats_url:
                processes.append(start_nats(free_port(), work / "nats", work / "nats.log"))
                nats_url = processes[-1].url
            if not mongo_url:
                processes.append(start_mongo(free_port(), work / "db", work / "db.log"))
                mongo_url = processes[-1].url
            yield Stack(nats_url, mongo_url)
        finally:
            stop_all(processes)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def latency_summary(seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.fmean(ms):.2f} ms (n={len(ms)})"
    )


def row(name: str, value: str, target: str = "") -> None:
    print(f"  {name:<52} {value:<28} {target}", flush=True)


def paired_ratios(rates: Sequence[float], raws: Sequence[float]) -> list[float]:
    """Each measured run against the mean of the raw runs just before and after it
    (`raws` has one more entry than `rates`: raw, run, raw, run, raw). On a shared machine
    whose speed drifts, a ratio of neighbours means the same as one taken on a quiet machine;
    best-with-best across the whole run does not."""
    if len(raws) != len(rates) + 1:
        raise ValueError("measure raw, run, raw, ..., run, raw")
    return [rate / ((raws[i] + raws[i + 1]) / 2) for i, rate in enumerate(rates)]


def _part_of(args: str) -> str:
    """A process's part of the platform, from its command line."""
    if "nx-27017" in args:
        return "database"
    if "nats-server" in args:
        return "nats"
    found = re.search(r"(\w+)\.main:create_app", args)
    if found:
        return found.group(1)
    return "other"


def tree_cpu_seconds(root: int) -> dict[str, float]:
    """CPU time (user + system, seconds) of every live descendant of `root`, summed per part
    of the platform (each service, `database`, `nats`), read from Linux's /proc. The
    difference of two readings is what each part spent in between, whatever else the machine
    was doing: a figure that holds on a busy machine where wall-clock latencies do not."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parent[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    parts: dict[str, float] = {}
    for pid, seconds in spent.items():
        ancestor = parent.get(pid)
        while ancestor not in (None, 0, 1, root):
            ancestor = parent.get(ancestor)
        if ancestor != root:
            continue
        try:
            args = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        part = _part_of(args.decode(errors="replace"))
        parts[part] = parts.get(part, 0.0) + seconds
    return parts


def cpu_rows(before: dict[str, float], after: dict[str, float], per: int, unit: str) -> None:
    """CPU milliseconds per `unit` of each part between two `tree_cpu_seconds` readings."""
    spent = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    total = sum(spent.values())
    row(f"platform CPU per {unit}", f"{total / per * 1000:.1f} ms")
    for part, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        if seconds > 0:
            row(f"  {part}", f"{seconds / per * 1000:.1f} ms")
