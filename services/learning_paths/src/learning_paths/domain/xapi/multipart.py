"""`multipart/mixed` bodies of statements with attachments (xAPI 2.0, "Attachments"): the
first part holds the statements (application/json); every further part one attachment,
binary, named by its SHA-2 hash in `X-Experience-API-Hash`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from learning_paths.domain.xapi.errors import XapiError

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes


@dataclass
class Multipart:
    statements: bytes
    attachments: dict[str, Part] = field(default_factory=dict)  # sha2 → part


def boundary_of(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise XapiError(400, "multipart/mixed needs a boundary in its Content-Type")
    return match.group(1) or match.group(2)


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise XapiError(400, "a multipart part has a malformed header")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse(body: bytes, content_type: str) -> Multipart:
    boundary = boundary_of(content_type).encode("latin-1")
    delimiter = b"--" + boundary
    if delimiter not in body:
        raise XapiError(400, "the body does not hold the multipart boundary")
    chunks = body.split(delimiter)
    parts: list[Part] = []
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            if chunk.startswith(b"\r\n"):  # a part without headers
                head, content = b"", chunk[2:]
            else:
                raise XapiError(400, "a multipart part has no header block")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        parts.append(Part(_headers(head), content))
    if not closed or not parts:
        raise XapiError(400, "the multipart body is not closed with its boundary")
    first = parts[0]
    if not first.headers.get("content-type", "").lower().startswith("application/json"):
        raise XapiError(400, "the first part of a multipart body must be application/json")
    found = Multipart(first.body)
    for part in parts[1:]:
        kind = part.headers.get("content-type", "")
        if (
            kind.lower().startswith("application/json")
            and "x-experience-api-hash" not in part.headers
        ):
            raise XapiError(400, "statements must be in the first part only")
        if part.headers.get("content-transfer-encoding", "").lower() != "binary":
            raise XapiError(400, "attachment parts need Content-Transfer-Encoding: binary")
        sha2 = part.headers.get("x-experience-api-hash")
        if not sha2:
            raise XapiError(400, "attachment parts need X-Experience-API-Hash")
        found.attachments[sha2.lower()] = part
    return found


def digest_matches(sha2: str, content: bytes) -> bool:
    size = len(sha2) * 4
    algorithm = {224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}.get(size)
    if algorithm is None:
        return False
    return hashlib.new(algorithm, content).hexdigest() == sha2.lower()


def build(statements_json: bytes, attachments: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed response: the statements, then (sha2, content type, content) per
    attachment. Returns the body and its Content-Type."""
    boundary = "wkxapi" + hashlib.sha1(statements_json).hexdigest()[:24]  # noqa: S324 - a marker
    crlf = b"\r\n"
    out = [b"--" + boundary.encode() + crlf, b"Content-Type: application/json" + crlf + crlf]
    out.append(statements_json + crlf)
    for sha2, content_type, content in attachments:
        out.append(b"--" + boundary.encode() + crlf)
        out.append(f"Content-Type: {content_type}".encode() + crlf)
        out.append(b"Content-Transfer-Encoding: binary" + crlf)
        out.append(f"X-Experience-API-Hash: {sha2}".encode() + crlf + crlf)
        out.append(content + crlf)
    out.append(b"--" + boundary.encode() + b"--" + crlf)
    return b"".join(out), f"multipart/mixed; boundary={boundary}"
