"""Errors of the learning record store: the HTTP status the xAPI standard prescribes and a
message saying what was wrong (rendered as an RFC 9457 problem)."""

from __future__ import annotations


class XapiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> XapiError:
    return XapiError(400, message)
