"""Document resources of the LRS: activity state, activity profile, agent profile.

A document is any content (JSON or not) under an id. PUT replaces it; POST merges JSON
objects key by key (both must be JSON objects); concurrency by ETag (`If-Match`,
`If-None-Match`; a PUT over an existing document without either is refused with 409).
A person reads and writes documents about themselves only (state and agent profile of
their own account); activity profiles are shared by the tenant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from learning_paths.adapters.lrs import Document, LrsStore
from learning_paths.domain.xapi import formats
from learning_paths.domain.xapi import statements as rules
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.domain.xapi.statements import person_of
from learning_paths.domain.xapi.validation import actor as check_actor
from learning_paths.service.context import Context
from learning_paths.service.lrs import Caller

Kind = Literal["state", "activity_profile", "agent_profile"]


@dataclass(frozen=True)
class Address:
    """Where documents live: the kind and its scope (activity, agent, registration)."""

    kind: Kind
    scope: str
    agent: str | None  # agent key
    person: str | None  # the person the document is about (for erasure and scoping)


@dataclass(frozen=True)
class Preconditions:
    if_match: str | None = None
    if_none_match: str | None = None


def parse_agent(raw: str | None, param: str = "agent") -> dict[str, Any]:
    if raw is None:
        raise XapiError(400, f"{param} is required")
    try:
        value = json.loads(raw)
    except ValueError:
        raise XapiError(400, f"{param} is not JSON") from None
    check_actor(value, param)
    return dict(value)


def address(
    kind: Kind,
    *,
    home_page: str,
    activity_id: str | None = None,
    agent: dict[str, Any] | None = None,
    registration: str | None = None,
) -> Address:
    if kind in ("state", "activity_profile") and not formats.is_iri(activity_id):
        raise XapiError(400, "activityId must be an IRI")
    if registration is not None and not formats.is_uuid(registration):
        raise XapiError(400, "registration must be a UUID")
    agent_key = rules.agent_key(agent) if agent is not None else None
    if kind in ("state", "agent_profile") and agent_key is None:
        raise XapiError(400, "agent must be identified (an Agent or identified Group)")
    person = person_of(agent, home_page) if agent is not None else None
    if kind == "state":
        scope = f"{activity_id}\x1f{agent_key}\x1f{(registration or '').lower()}"
    elif kind == "activity_profile":
        scope = str(activity_id)
    else:
        scope = str(agent_key)
    return Address(kind, scope, agent_key, person)


def _key(where: Address, doc_id: str) -> str:
    return hashlib.sha256(f"{where.kind}\x1f{where.scope}\x1f{doc_id}".encode()).hexdigest()


def etag_of(content: bytes) -> str:
    return f'"{hashlib.sha1(content).hexdigest()}"'  # noqa: S324 - an entity tag, not security


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/json"


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError:
        raise XapiError(400, "the document is not valid JSON") from None
    if not isinstance(value, dict):
        raise XapiError(400, "the document must be a JSON object to be merged")
    return value


def _check(preconditions: Preconditions, current: Document | None) -> None:
    wanted = preconditions.if_match
    if wanted is not None:
        tags = {t.strip() for t in wanted.split(",")}
        if current is None or ("*" not in tags and current.etag not in tags):
            raise XapiError(412, "the document changed (If-Match does not match)")
    refused = preconditions.if_none_match
    if refused is not None and current is not None:
        tags = {t.strip() for t in refused.split(",")}
        if "*" in tags or current.etag in tags:
            raise XapiError(412, "the document exists (If-None-Match)")


class Documents:
    def __init__(self, ctx: Context, home_page: str) -> None:
        self.ctx = ctx
        self.home_page = home_page

    def _allowed(self, caller: Caller, where: Address, *, write: bool) -> None:
        if caller.person is None:
            return
        if where.kind == "activity_profile" and not write:
            return
        if where.person != caller.person:
            raise XapiError(403, "a person reaches their own documents only")

    async def get(self, caller: Caller, where: Address, doc_id: str) -> Document:
        self._allowed(caller, where, write=False)
        db = await self.ctx.runtime.storage.tenant_db(caller.tenant)
        found = await LrsStore(db).document(_key(where, doc_id))
        if found is None:
            raise XapiError(404, "no such document")
        return found

    async def ids(
        self, caller: Caller, where: Address, since: datetime | None
    ) -> tuple[list[str], datetime | None]:
        self._allowed(caller, where, write=False)
        db = await self.ctx.runtime.storage.tenant_db(caller.tenant)
        found = await LrsStore(db).documents(where.kind, where.scope)
        if since is not None:
            found = [d for d in found if d.updated > since]
        latest = max((d.updated for d in found), default=None)
        return sorted(d.doc_id for d in found), latest

    async def write(
        self,
        caller: Caller,
        where: Address,
        doc_id: str,
        content: bytes,
        content_type: str,
        preconditions: Preconditions,
        *,
        merge: bool,
    ) -> None:
        self._allowed(caller, where, write=True)
        if _is_json(content_type) and merge:
            _json_object(content)
        key = _key(where, doc_id)
        now = self.ctx.now()

        async def work(db: Any, session: Any) -> tuple[None, list[Any]]:
            store = LrsStore(db, session)
            current = await store.document(key)
            _check(preconditions, current)
            no_headers = preconditions.if_match is None and preconditions.if_none_match is None
            if not merge and current is not None and no_headers:
                raise XapiError(
                    409,
                    "the document exists: send If-Match with its ETag (or If-None-Match: *) "
                    "so no one else's change is overwritten",
                )
            body, kind = content, content_type
            if merge and current is not None:
                if not (_is_json(current.content_type) and _is_json(content_type)):
                    raise XapiError(400, "only JSON documents are merged by POST")
                merged = {**_json_object(current.content), **_json_object(content)}
                body, kind = json.dumps(merged).encode(), "application/json"
            document = Document(
                kind=where.kind,
                scope=where.scope,
                doc_id=doc_id,
                content_type=kind,
                content=body,
                etag=etag_of(body),
                updated=now,
                persons=(where.person,) if where.person else (),
            )
            await store.save_document(key, document, where.agent)
            return None, []

        await self.ctx.runtime.commit(caller.tenant, work)

    async def delete(
        self,
        caller: Caller,
        where: Address,
        doc_id: str | None,
        preconditions: Preconditions,
    ) -> None:
        self._allowed(caller, where, write=True)

        async def work(db: Any, session: Any) -> tuple[None, list[Any]]:
            store = LrsStore(db, session)
            if doc_id is None:
                await store.delete_documents(where.kind, where.scope)
                return None, []
            key = _key(where, doc_id)
            _check(preconditions, await store.document(key))
            await store.delete_document(key)
            return None, []

        await self.ctx.runtime.commit(caller.tenant, work)
