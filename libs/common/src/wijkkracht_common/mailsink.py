"""Development mail sink: an SMTP server on localhost that stores every message as an `.eml`
file (open it with any mail program, or `cat` it). `make run` starts it on 127.0.0.1:14025,
writing to `.data/mail/`. Never used outside dev.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, directory: Path | None, on_message: Callable[[EmailMessage], None] | None):
        self._directory = directory
        self._on_message = on_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.eml"
            (self._directory / name).write_bytes(raw)
        if self._on_message is not None:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self._on_message(message)
        return "250 Message accepted"


def start_sink(
    port: int,
    directory: Path | None = None,
    on_message: Callable[[EmailMessage], None] | None = None,
) -> Controller:
    controller = Controller(_Handler(directory, on_message), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=14025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    controller = start_sink(args.port, args.dir)
    print(f"mail sink on 127.0.0.1:{args.port}, writing to {args.dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
