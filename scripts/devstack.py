"""`make run`: the whole platform on one machine, no Docker.

Starts the embedded NATS (JetStream, 127.0.0.1:14222, data in .data/nats) and database
(nx-27017, 127.0.0.1:27117, data in .data/db) unless WK_NATS_URL / WK_MONGO_URL name external
servers, then every service that exists and the reference portal (port 8080), waits for each
/readyz, seeds the demo tenant (dev mode only) and prints the portal first, then URLs and logins.
A second run keeps the data.

The portal is identity's confidential OIDC client `portal`: the launcher gives identity (whose
demo seed registers the client) and the portal the same secret, `WK_PORTAL_CLIENT_SECRET` from
the environment or a random one per run, and the portal's public URL from the port it chose.

Replicas: `--replicas N` runs N processes of every API service on one NATS and database, as a
deployment does (the portal stays one): replica k listens on its service's port + 100·(k-1)
(identity's second on 8101), logs to `<service>-<k>.log`, and starts once the first ones are
ready (they seed the demo tenant; the others do not seed). No load balancer: callers pick a
replica; every replica consumes the shared event streams.

Supervision: a part that exits (NATS, the database, the mail sink, a service) is started again
after a delay that doubles from 1 s to at most 30 s and starts over once the part has run for
60 s; each exit and restart is logged with the part, its exit code and the delay (on the
console and in .data/logs/devstack.log). A part that exits 5 times within 5 minutes is
reported loudly and still restarted. The rest keeps serving meanwhile.

Stopping: SIGTERM, Ctrl-C (SIGINT) and SIGHUP stop everything, the services first, then NATS,
the database and the mail sink: each part's process group gets SIGTERM, SIGKILL if it has not
exited within a few seconds; a second signal kills at once. SIGINT counts also in a background
job, where the shell starts it ignored; SIGHUP is left ignored under nohup.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "libs" / "common" / "src"))

from wijkkracht_common.embedded import (  # noqa: E402
    EmbeddedError,
    ManagedProcess,
    port_open,
    spawn_mongo,
    spawn_nats,
)

SERVICES: list[tuple[str, int, str]] = [
    ("identity", 8001, "/identity/v1"),
    ("questionnaires", 8002, "/questionnaires/v1"),
    ("learning_paths", 8003, "/learning-paths/v1"),
    ("marketplace", 8004, "/marketplace/v1"),
    ("social_map", 8005, "/social-map/v1"),
    ("effect_measurement", 8006, "/effects/v1"),
]
#: The reference web front end: no database or broker, only the services' public APIs.
PORTAL: tuple[str, int] = ("portal", 8080)
DEMO_PASSWORD = "wijkkracht-demo"
#: Shown first: who to log in as in the portal, by role.
PORTAL_LOGINS: tuple[tuple[str, str], ...] = (
    ("inwoner@demo.test", "resident: self-assessment, results, my data"),
    ("sociaalwerker@demo.test", "professional: caseload, assisted registration"),
    ("makelaar@demo.test", "professional and broker: the market on a resident's behalf"),
    ("beheer@demo.test", "tenant admin"),
    ("analist@demo.test", "analyst: figures per neighbourhood"),
)
NATS_PORT, MONGO_PORT, MAIL_PORT = 14222, 27117, 14025
INFRASTRUCTURE_START_SECONDS = 30.0
SERVICE_START_SECONDS = 180.0
#: SIGTERM to SIGKILL; services get longer: they drain consumers and the outbox relay.
SERVICE_STOP_SECONDS, INFRASTRUCTURE_STOP_SECONDS = 8.0, 5.0
POLL_SECONDS = 0.2


def available_services() -> list[tuple[str, int, str]]:
    return [s for s in SERVICES if (ROOT / "services" / s[0] / "src" / s[0] / "main.py").exists()]


def portal_available() -> bool:
    return (ROOT / "services" / "portal" / "src" / "portal" / "main.py").exists()


def portal_env(secret: str, api: dict[str, str], public_url: str) -> dict[str, str]:
    """The portal's settings for this run: its public URL (the OIDC redirect URI's base), the
    client secret identity's seed registers, and each service's public API on this run's
    ports."""
    names = {
        "questionnaires": "QUESTIONNAIRES",
        "learning_paths": "LEARNING_PATHS",
        "marketplace": "MARKETPLACE",
        "social_map": "SOCIAL_MAP",
        "effect_measurement": "EFFECTS",
    }
    values = {
        "WK_PORTAL_PUBLIC_URL": public_url,
        "WK_PORTAL_CLIENT_SECRET": secret,
    }
    for service, name in names.items():
        if service in api:
            values[f"WK_PORTAL_{name}_URL"] = api[service]
    return values


def portal_secret(data_dir: Path) -> str:
    """The portal client's secret of this data directory, made on its first run (owner-only
    file, like the database files beside it)."""
    path = data_dir / "portal-client-secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def portal_summary(url: str) -> str:
    width = max(len(email) for email, _ in PORTAL_LOGINS)
    return "\n".join(
        [
            "",
            f"==> Open {url} and log in as one of these (password {DEMO_PASSWORD}):",
            *(f"      {email:<{width}}  {what}" for email, what in PORTAL_LOGINS),
            "",
        ]
    )


class Stopping(Exception):
    """A stop signal arrived: leave whatever is being waited for."""


class StartupFailed(Exception):
    def __init__(self, part: Part, reason: str) -> None:
        super().__init__(f"{part.name} {reason}")
        self.part = part


class StopRequest:
    """Records SIGTERM, SIGINT and SIGHUP. The handler only records: the main loop stops the
    parts, so no signal can land between starting a process and keeping track of it, and no
    failing console write inside a handler can leave the children running."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.forced = False

    def install(self) -> None:
        # SIGINT too when inherited ignored (a background job): `kill -INT` must still stop.
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup: outlive the terminal
            signal.signal(signal.SIGHUP, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum
        else:
            self.forced = True

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def check(self) -> None:
        if self.signal is not None:
            raise Stopping


class Reporter:
    """Console lines, each also kept with a timestamp in the launcher's log (the console may
    be gone: a closed terminal or pipe must not stop the platform)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log: TextIO = log_path.open("a", encoding="utf-8")

    def __call__(self, message: str, *, loud: bool = False, stamped: bool = False) -> None:
        now = time.strftime("%H:%M:%S")
        self._log.write(f"{time.strftime('%Y-%m-%d')} {now} {message.strip()}\n")
        self._log.flush()
        with contextlib.suppress(OSError):
            print(
                f"{now} {message}" if stamped else message,
                file=sys.stderr if loud else sys.stdout,
                flush=True,
            )


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    #: a part that ran this long before exiting starts over at `first_delay`
    stable_after: float = 60.0
    #: this many exits within `loop_window` seconds are reported as a crash loop
    loop_exits: int = 5
    loop_window: float = 300.0


@dataclass
class Backoff:
    policy: RestartPolicy
    consecutive: int = 0
    exits: deque[float] = field(default_factory=deque)

    def after_exit(self, ran_for: float, now: float) -> float:
        """The delay before starting again a part that exited at `now` after `ran_for` s."""
        if ran_for >= self.policy.stable_after:
            self.consecutive = 0
        self.consecutive += 1
        self.exits.append(now)
        while self.exits and self.exits[0] <= now - self.policy.loop_window:
            self.exits.popleft()
        doubled = self.policy.first_delay * 2.0 ** min(self.consecutive - 1, 32)
        return min(self.policy.max_delay, doubled)

    @property
    def crash_looping(self) -> bool:
        return len(self.exits) >= self.policy.loop_exits


@dataclass
class Part:
    name: str
    log_path: Path
    spawn: Callable[[], ManagedProcess]
    service: bool
    backoff: Backoff
    managed: ManagedProcess | None = None
    started_at: float = 0.0
    #: has served since its last start
    serving: bool = False
    #: only a part that served once is restarted: one that exits while `make run` starts
    #: is a start-up failure, reported with its log at once
    served_once: bool = False
    restart_at: float | None = None


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)


def log_tail(path: Path, lines: int = 15) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


class Supervisor:
    def __init__(self, say: Reporter, stop: StopRequest, policy: RestartPolicy) -> None:
        self.say, self.stop, self.policy = say, stop, policy
        self.parts: list[Part] = []

    def add(
        self, name: str, log_path: Path, spawn: Callable[[], ManagedProcess], *, service: bool
    ) -> Part:
        part = Part(name, log_path, spawn, service, Backoff(self.policy))
        self.parts.append(part)
        self._start(part)
        return part

    def _start(self, part: Part) -> None:
        part.restart_at, part.serving = None, False
        part.managed = part.spawn()
        part.managed.name = part.name  # "database", not the server's own name
        part.started_at = time.monotonic()

    def wait_serving(self, part: Part, timeout: float) -> None:
        """Until `part` serves, supervising the others meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            self.stop.check()
            assert part.managed is not None
            code = part.managed.process.poll()
            if code is not None:
                raise StartupFailed(part, f"exited with code {describe_exit(code)}")
            if part.managed.serving():
                part.serving = part.served_once = True
                return
            if time.monotonic() > deadline:
                raise StartupFailed(part, f"not ready after {timeout:.0f}s")
            self.tick()
            time.sleep(POLL_SECONDS)

    def supervise(self) -> None:
        """Until a stop signal arrives."""
        while True:
            self.stop.check()
            self.tick()
            time.sleep(POLL_SECONDS)

    def tick(self) -> None:
        now = time.monotonic()
        for part in self.parts:
            if not part.served_once or part.managed is None:
                continue
            if part.restart_at is not None:
                if now >= part.restart_at:
                    self._restart(part)
                continue
            code = part.managed.process.poll()
            if code is not None:
                self._exited(part, describe_exit(code), now)
            elif not part.serving and part.managed.serving():
                part.serving = True
                self.say(
                    f"{part.name} serves again ({time.monotonic() - part.started_at:.1f} s "
                    "after its restart)",
                    stamped=True,
                )

    def _exited(self, part: Part, code: str, now: float) -> None:
        assert part.managed is not None
        part.managed.signal(signal.SIGKILL)  # whatever it started goes with it
        ran_for = now - part.started_at
        delay = part.backoff.after_exit(ran_for, now)
        part.restart_at, part.serving = now + delay, False
        self.say(
            f"{part.name} exited with code {code} after {ran_for:.1f} s; restarting in "
            f"{delay:.1f} s (restart {part.backoff.consecutive} in a row, log {part.log_path})",
            stamped=True,
        )
        if part.backoff.crash_looping:
            self.say(
                "\n".join(
                    [
                        f"!!! {part.name} keeps crashing: {len(part.backoff.exits)} exits within "
                        f"{self.policy.loop_window:.0f} s; still restarting it, after at most "
                        f"{self.policy.max_delay:.0f} s each time. Last lines of {part.log_path}:",
                        *(f"  {line}" for line in log_tail(part.log_path, 10)),
                    ]
                ),
                loud=True,
                stamped=True,
            )

    def _restart(self, part: Part) -> None:
        try:
            self._start(part)
        except (OSError, EmbeddedError) as error:
            self._exited(part, f"none (could not start: {error})", time.monotonic())
            return
        assert part.managed is not None
        self.say(f"{part.name} restarted (pid {part.managed.process.pid})", stamped=True)

    def stop_all(self) -> None:
        """Services first (they drain towards NATS and the database), then the rest."""
        for service, grace in ((True, SERVICE_STOP_SECONDS), (False, INFRASTRUCTURE_STOP_SECONDS)):
            managed = [p.managed for p in self.parts if p.service is service and p.managed]
            for process in managed:
                if process.process.poll() is None:
                    process.signal(signal.SIGTERM)
            if not self._exit_within(managed, grace, until_forced=True):
                why = (
                    "a second stop signal" if self.stop.forced else f"not stopped in {grace:.0f} s"
                )
                for process in managed:
                    if process.process.poll() is None:
                        self.say(f"{process.name} killed ({why})")
                        process.signal(signal.SIGKILL)
                self._exit_within(managed, 5.0)
            for process in managed:
                process.signal(signal.SIGKILL)  # anything left in its process group

    def _exit_within(
        self, managed: Sequence[ManagedProcess], timeout: float, *, until_forced: bool = False
    ) -> bool:
        """Whether every process exited (and was reaped) within `timeout`; a second stop
        signal ends the wait early when `until_forced`."""
        deadline = time.monotonic() + timeout
        while any(m.process.poll() is None for m in managed):
            if (until_forced and self.stop.forced) or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def replica_port(port: int, replica: int) -> int:
    """Replica k (from 1) of a service whose first replica listens on `port`."""
    return port + 100 * (replica - 1)


def http_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def spawner(
    name: str,
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    url: str,
    ready: Callable[[], bool],
) -> Callable[[], ManagedProcess]:
    def spawn() -> ManagedProcess:
        with log_path.open("ab") as log_file:  # the child keeps its own descriptor
            process = subprocess.Popen(
                command,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own process group: signalled as a whole, and the terminal's Ctrl-C
                # reaches only the launcher, which stops the parts in order.
                start_new_session=True,
            )
        return ManagedProcess(name, process, url, ready)

    return spawn


def start_platform(
    args: argparse.Namespace, env: dict[str, str], supervisor: Supervisor, say: Reporter
) -> None:
    data = args.data_dir
    logs = data / "logs"
    if "WK_NATS_URL" not in env:
        if port_open(args.nats_port):
            raise EmbeddedError(f"port {args.nats_port} is taken: stop it or set WK_NATS_URL")
        nats = supervisor.add(
            "nats",
            logs / "nats.log",
            lambda: spawn_nats(args.nats_port, data / "nats", logs / "nats.log"),
            service=False,
        )
        supervisor.wait_serving(nats, INFRASTRUCTURE_START_SECONDS)
        assert nats.managed is not None
        env["WK_NATS_URL"] = nats.managed.url
    if "WK_MONGO_URL" not in env:
        if port_open(args.mongo_port):
            raise EmbeddedError(f"port {args.mongo_port} is taken: stop it or set WK_MONGO_URL")
        mongo = supervisor.add(
            "database",
            logs / "db.log",
            lambda: spawn_mongo(args.mongo_port, data / "db", logs / "db.log"),
            service=False,
        )
        supervisor.wait_serving(mongo, INFRASTRUCTURE_START_SECONDS)
        assert mongo.managed is not None
        env["WK_MONGO_URL"] = mongo.managed.url
    if "WK_SMTP_HOST" not in env:
        command = [sys.executable, "-m", "wijkkracht_common.mailsink"]
        command += ["--port", str(args.mail_port), "--dir", str(data / "mail")]
        mail = supervisor.add(
            "mail",
            logs / "mail.log",
            spawner(
                "mail",
                command,
                dict(env),
                logs / "mail.log",
                f"smtp://127.0.0.1:{args.mail_port}",
                lambda: port_open(args.mail_port),
            ),
            service=False,
        )
        supervisor.wait_serving(mail, INFRASTRUCTURE_START_SECONDS)
        env["WK_SMTP_HOST"], env["WK_SMTP_PORT"] = "127.0.0.1", str(args.mail_port)
    say(
        f"NATS      {env['WK_NATS_URL']}\nDatabase  {env['WK_MONGO_URL']}\n"
        f"Mail      {data / 'mail'} (dev sink, one .eml file per message)"
    )

    services: list[Part] = []
    # Where each API is reachable on this run's ports: links in mails, feeds and pages use the
    # service's public URL, and services that call another one use its URL.
    api = {
        name: f"http://127.0.0.1:{args.base_port + default - 8000}{prefix}"
        for name, default, prefix in available_services()
    }
    if "social_map" in api:
        env.setdefault("WK_SOCIAL_MAP_URL", api["social_map"])
    portal_port = args.portal_port or args.base_port + PORTAL[1] - 8000
    portal_url = args.portal_public_url or f"http://127.0.0.1:{portal_port}"
    # Only identity (its seed registers the client) and the portal see the secret.
    portal = portal_env(args.portal_secret, api, portal_url) if portal_available() else {}

    def add_service(name: str, port: int, extra: dict[str, str], replica: int = 1) -> None:
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "uvicorn", "--factory", f"{name}.main:create_app"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        part = name if replica == 1 else f"{name}#{replica}"
        log_path = logs / (f"{name}.log" if replica == 1 else f"{name}-{replica}.log")
        spawn = spawner(
            part,
            command,
            {**env, **extra, "WK_HTTP_PORT": str(port)},
            log_path,
            url,
            functools.partial(http_ready, f"{url}/readyz"),
        )
        services.append(supervisor.add(part, log_path, spawn, service=True))

    def service_env(name: str) -> dict[str, str]:
        public = {"WK_PUBLIC_URL": api[name], "WK_PUBLIC_BASE_URL": api[name]}
        if name == "marketplace":  # its links lead to the front end's pages, not to its API
            public = {}
        if name == "identity" and portal:
            public |= {k: portal[k] for k in ("WK_PORTAL_PUBLIC_URL", "WK_PORTAL_CLIENT_SECRET")}
        if name == "effect_measurement" and args.replicas > 1:
            # Ingestion partitioned by person: one partition per replica (docs/operations.md).
            public.setdefault("WK_INGEST_PARTITIONS", str(args.replicas))
        return public

    for name, default_port, _prefix in available_services():
        add_service(name, args.base_port + default_port - 8000, service_env(name))
    if portal:
        add_service(PORTAL[0], portal_port, portal)
    say(f"Starting {len(services)} services and seeding the demo tenant …")
    ready: list[str] = []

    def wait_for_services() -> None:
        for part in services[len(ready) :]:
            supervisor.wait_serving(part, SERVICE_START_SECONDS)
            assert part.managed is not None
            docs = "" if part.name == PORTAL[0] else "/docs"
            ready.append(f"  ✓ {part.name:<20} {part.managed.url}{docs}")

    wait_for_services()
    if args.replicas > 1:
        # Started once the first ones have seeded the demo tenant: the seed has one writer.
        for replica in range(2, args.replicas + 1):
            for name, default_port, _prefix in available_services():
                port = replica_port(args.base_port + default_port - 8000, replica)
                add_service(name, port, {**service_env(name), "WK_DEMO_SEED": "false"}, replica)
        say(f"Starting {args.replicas - 1} more replica(s) of every API service …")
        wait_for_services()
    if portal:  # the summary starts with what a new user opens
        say(portal_summary(portal_url))
    say("\n".join(ready))

    logins = ROOT / "docs" / "demo-logins.txt"
    if logins.exists():
        # The file names the default ports; show the ones this run uses.
        say(
            re.sub(
                r"127\.0\.0\.1:80(0\d)",
                lambda m: f"127.0.0.1:{args.base_port + int(m.group(1))}",
                logins.read_text(),
            )
        )
    say(f"Logs in {logs}. Ctrl-C stops everything.")


def main() -> int:
    stop = StopRequest()
    stop.install()  # first: a signal from here on is honoured once there is something to stop
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo tenant")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--nats-port", type=int, default=NATS_PORT)
    parser.add_argument("--mongo-port", type=int, default=MONGO_PORT)
    parser.add_argument("--mail-port", type=int, default=MAIL_PORT)
    parser.add_argument(
        "--base-port", type=int, default=8000, help="services listen on base+1 (identity) … base+6"
    )
    parser.add_argument(
        "--portal-port", type=int, default=None, help="the portal's port (default base+80)"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        choices=range(1, 10),
        metavar="N",
        help="processes per API service (replica k on its port + 100·(k-1); default 1)",
    )
    args = parser.parse_args()

    logs = args.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ}
    env.setdefault("WK_ENV", "dev")
    if env["WK_ENV"] == "dev" and not args.no_seed:
        # Each service seeds its part of the demo tenant while starting (idempotent); it is
        # ready only when seeded. One writer per database: nx-27017 needs that.
        env.setdefault("WK_DEMO_SEED", "true")
    identity_url = f"http://127.0.0.1:{args.base_port + 1}/identity/v1"
    env.setdefault("WK_ISSUER", identity_url)
    env.setdefault("WK_JWKS_URL", f"{identity_url}/.well-known/jwks.json")
    # Kept out of the environment the other services get. Unless given, one per data
    # directory: a run with --no-seed (no seed to update the registered client) still matches
    # the client an earlier run registered.
    args.portal_secret = env.pop("WK_PORTAL_CLIENT_SECRET", "") or portal_secret(args.data_dir)
    args.portal_public_url = env.pop("WK_PORTAL_PUBLIC_URL", "")

    say = Reporter(logs / "devstack.log")
    supervisor = Supervisor(say, stop, RestartPolicy())
    status = 0
    try:
        start_platform(args, env, supervisor, say)
        supervisor.supervise()
    except Stopping:
        pass
    except StartupFailed as error:
        say(
            "\n  ".join(
                [f"{error}; last lines of {error.part.log_path}:", *log_tail(error.part.log_path)]
            ),
            loud=True,
        )
        say(f"make run failed: {error}", loud=True)
        status = 1
    except (EmbeddedError, OSError) as error:
        say(f"make run failed: {error}", loud=True)
        status = 1
    finally:
        # Whatever ended the run (a signal, a failed start, a bug here), no part outlives it.
        say("\nStopping Wijkkracht …")
        supervisor.stop_all()
        say("Stopped.")
    return status


if __name__ == "__main__":
    sys.exit(main())
