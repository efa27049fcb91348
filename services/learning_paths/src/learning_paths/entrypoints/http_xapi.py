"""The xAPI 2.0 resources (IEEE 9274.1.1) under `/xapi/`: statements, about, activities,
agents, activity state, activity and agent profiles.

Every request but `/about` carries `X-Experience-API-Version` (1.0.x or 2.0.x; else 400);
every response says `X-Experience-API-Version: 2.0.0`. Authentication: identity's bearer
tokens, or HTTP Basic with an API client's id and secret. Parameters are case-sensitive and
unknown ones are refused (400). Errors are RFC 9457 problems with the status the standard
prescribes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wijkkracht_common.auth import Principal
from wijkkracht_common.errors import Problem, problem_response

from learning_paths.adapters.identity_tokens import CredentialExchange
from learning_paths.adapters.lrs import StoredStatement, seq_time
from learning_paths.domain.xapi import formats, multipart
from learning_paths.domain.xapi import statements as rules
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.service.lrs import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Caller,
    Incoming,
    Lrs,
    StatementQuery,
    caller_of,
)
from learning_paths.service.lrs_documents import (
    Address,
    Documents,
    Kind,
    Preconditions,
    address,
    parse_agent,
)

VERSION = "2.0.0"
MAX_STATEMENTS_BODY = 16 * 1024 * 1024
router = APIRouter(prefix="/xapi", tags=["xapi"])

STATEMENT_PARAMS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "cursor",
}


class XapiVersionHeader:
    """Adds `X-Experience-API-Version: 2.0.0` to every response under the xAPI prefix
    (problems included)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("raw_path") or scope.get("path", "").encode()
        if scope["type"] != "http" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        statements = path.rstrip(b"/").endswith(b"/statements")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-experience-api-version"
                ]
                headers.append((b"x-experience-api-version", VERSION.encode()))
                names = {k.lower() for k, _ in headers}
                if statements and b"x-experience-api-consistent-through" not in names:
                    # every answer of the statement resource says how current it is, errors
                    # included (clients wait on it)
                    lrs: Lrs = scope["app"].state.lrs
                    moment = lrs.clock.consistent_through().isoformat()
                    headers.append((b"x-experience-api-consistent-through", moment.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


def install(app: FastAPI, prefix: str) -> None:
    async def on_xapi(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, XapiError)
        headers = {"WWW-Authenticate": 'Basic realm="xapi"'} if exc.status == 401 else None
        return problem_response(
            Problem(exc.message, status=exc.status, kind=f"xapi-{exc.status}", headers=headers),
            request,
        )

    app.add_exception_handler(XapiError, on_xapi)
    app.add_middleware(XapiVersionHeader, prefix=f"{prefix}/xapi")


# ---- request plumbing ----------------------------------------------------------------------


def _lrs(request: Request) -> Lrs:
    lrs: Lrs = request.app.state.lrs
    return lrs


def _documents(request: Request) -> Documents:
    documents: Documents = request.app.state.lrs_documents
    return documents


def _check_version(request: Request) -> None:
    version = request.headers.get("x-experience-api-version")
    if version is None:
        raise XapiError(400, "X-Experience-API-Version header missing")
    if formats.VERSION.match(version.strip()) is None:
        raise XapiError(400, f"xAPI version {version!r} is not supported (1.0.x, 2.0.x)")


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise XapiError(401, "malformed Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep or not client_id:
            raise XapiError(401, "malformed Basic credentials")
        exchange: CredentialExchange = request.app.state.credential_exchange
        principal = await exchange.principal_for(client_id, secret)
        if principal is None:
            raise XapiError(401, "unknown client or wrong secret")
        return principal
    if scheme.lower() == "bearer" and credentials.strip():
        try:
            verified: Principal = await request.app.state.token_verifier.verify(credentials.strip())
        except Problem:
            raise XapiError(401, "invalid access token") from None
        return verified
    raise XapiError(401, "authentication required (Basic or Bearer)")


async def _caller(request: Request, allowed: set[str]) -> Caller:
    _check_version(request)
    principal = await _principal(request)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise XapiError(400, f"unknown parameter {unknown[0]!r}")
    for name in request.query_params:
        if len(request.query_params.getlist(name)) > 1:
            raise XapiError(400, f"parameter {name!r} given more than once")
    return caller_of(principal, _lrs(request).home_page)


def _key_count(value: Any) -> int:
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return count


def _json(raw: bytes, what: str) -> Any:
    """Parsed JSON; a property given twice in one object is refused (400). Fast path: when
    the text has as many `":` as the parsed objects have keys, no key repeats (a repeat, a
    `":` inside a string or a space before a colon makes them differ: checked key by key)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise XapiError(400, f"{what} has a property twice")
        return dict(pairs)

    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
        if _key_count(value) != text.count('":'):
            value = json.loads(text, object_pairs_hook=no_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise XapiError(400, f"{what} is not valid JSON") from None
    return value


def _bool(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise XapiError(400, f"{name} must be true or false")
    return value.lower() == "true"


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _accepted_languages(request: Request) -> list[str]:
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, int, str]] = []
    for n, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, n, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


# ---- about -----------------------------------------------------------------------------------


@router.get("/about")
@router.head("/about", include_in_schema=False)
async def about(request: Request) -> JSONResponse:
    unknown = sorted(set(request.query_params))
    if unknown:
        raise XapiError(400, f"unknown parameter {unknown[0]!r}")
    return JSONResponse({"version": ["2.0.0", "1.0.3"], "extensions": {}})


# ---- statements ------------------------------------------------------------------------------


async def _incoming(request: Request) -> Incoming:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    kind = content_type.split(";")[0].strip().lower()
    parts: dict[str, multipart.Part] = {}
    if kind == "multipart/mixed":
        found = multipart.parse(body, content_type)
        body, parts = found.statements, found.attachments
    elif kind not in ("application/json", ""):
        raise XapiError(
            400, f"statements are sent as application/json or multipart/mixed, not {kind}"
        )
    data = _json(body, "the statement body")
    statements = data if isinstance(data, list) else [data]
    if not all(isinstance(s, dict) for s in statements):
        raise XapiError(400, "statements must be JSON objects")
    return Incoming(statements=statements, parts=parts, batch=isinstance(data, list))


@router.put("/statements", status_code=204)
async def put_statement(request: Request) -> Response:
    caller = await _caller(request, {"statementId"})
    statement_id = request.query_params.get("statementId")
    if statement_id is None:
        raise XapiError(400, "statementId is required")
    if not formats.is_uuid(statement_id):
        raise XapiError(400, "statementId must be a UUID")
    incoming = await _incoming(request)
    if incoming.batch:
        raise XapiError(400, "PUT stores one statement (an object, not an array)")
    await _lrs(request).store(caller, incoming, statement_id=statement_id)
    return Response(status_code=204)


@router.post("/statements")
async def post_statements(request: Request) -> JSONResponse:
    caller = await _caller(request, set())
    incoming = await _incoming(request)
    ids = await _lrs(request).store(caller, incoming)
    return JSONResponse(ids)


def _query(request: Request) -> StatementQuery:
    params = request.query_params
    query = StatementQuery()
    if "agent" in params:
        agent = parse_agent(params["agent"])
        query.agent = rules.agent_key(agent)
        if query.agent is None:
            raise XapiError(400, "agent must be identified")
    if "verb" in params:
        if not formats.is_iri(params["verb"]):
            raise XapiError(400, "verb must be an IRI")
        query.verb = params["verb"]
    if "activity" in params:
        if not formats.is_iri(params["activity"]):
            raise XapiError(400, "activity must be an IRI")
        query.activity = params["activity"]
    if "registration" in params:
        if not formats.is_uuid(params["registration"]):
            raise XapiError(400, "registration must be a UUID")
        query.registration = params["registration"]
    query.related_activities = _bool(request, "related_activities")
    query.related_agents = _bool(request, "related_agents")
    query.ascending = _bool(request, "ascending")
    for name in ("since", "until"):
        if name in params:
            moment = formats.parse_timestamp(params[name])
            if moment is None:
                raise XapiError(400, f"{name} must be a timestamp")
            setattr(query, name, moment)
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError:
            raise XapiError(400, "limit must be a whole number") from None
        if limit < 0:
            raise XapiError(400, "limit must not be negative")
        query.limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    else:
        query.limit = DEFAULT_LIMIT
    if "cursor" in params:
        try:
            query.cursor = int(params["cursor"])
        except ValueError:
            raise XapiError(400, "cursor is not one of ours") from None
    return query


def _shape(
    request: Request,
    found: Iterable[StoredStatement],
    definitions: dict[str, Any],
) -> list[dict[str, Any]]:
    wanted = request.query_params.get("format", "exact")
    statements = [s.statement for s in found]
    if wanted == "ids":
        return [rules.as_ids(s) for s in statements]
    if wanted == "canonical":
        languages = _accepted_languages(request)
        return [rules.as_canonical(s, languages, definitions) for s in statements]
    return statements


def _activity_ids(found: Iterable[StoredStatement]) -> list[str]:
    return sorted(
        {str(a["id"]) for s in found for a in rules.activities_with_definitions(s.statement)}
    )


async def _respond(
    request: Request,
    caller: Caller,
    payload: Any,
    found: list[StoredStatement],
    last_modified: datetime,
) -> Response:
    lrs = _lrs(request)
    headers = {
        "X-Experience-API-Consistent-Through": lrs.clock.consistent_through().isoformat(),
        "Last-Modified": _http_date(last_modified),
    }
    if _bool(request, "attachments"):
        hashes = sorted({h for s in found for h in _hashes(s.statement)})
        stored = await lrs.attachments(caller.tenant, hashes)
        parts = [(h, stored[h][0], stored[h][1]) for h in hashes if h in stored]
        body, content_type = multipart.build(json.dumps(payload).encode(), parts)
        return Response(body, media_type=content_type, headers=headers)
    return JSONResponse(payload, headers=headers)


def _hashes(statement: dict[str, Any]) -> list[str]:
    found = [str(a["sha2"]).lower() for a in statement.get("attachments") or []]
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        found += [str(a["sha2"]).lower() for a in target.get("attachments") or []]
    return found


@router.get("/statements")
@router.head("/statements", include_in_schema=False)
async def get_statements(request: Request) -> Response:
    caller = await _caller(request, STATEMENT_PARAMS)
    params = request.query_params
    wanted = params.get("format", "exact")
    if wanted not in ("exact", "ids", "canonical"):
        raise XapiError(400, "format is exact, ids or canonical")
    _bool(request, "attachments")
    lrs = _lrs(request)
    single = [p for p in ("statementId", "voidedStatementId") if p in params]
    if single:
        others = set(params) - {"statementId", "voidedStatementId", "format", "attachments"}
        if len(single) > 1 or others:
            raise XapiError(400, f"{single[0]} is used with format and attachments only")
        statement_id = params[single[0]]
        if not formats.is_uuid(statement_id):
            raise XapiError(400, f"{single[0]} must be a UUID")
        found = await lrs.one(caller, statement_id, voided=single[0] == "voidedStatementId")
        await lrs.log_reads(caller, set(found.keys.get("persons") or ()), "xapi/statements")
        definitions = await lrs.definitions(caller.tenant, _activity_ids([found]))
        shaped = _shape(request, [found], definitions)[0]
        return await _respond(request, caller, shaped, [found], seq_time(found.seq))
    query = _query(request)
    page, next_seq = await lrs.query(caller, query)
    persons = {p for s in page for p in s.keys.get("persons") or ()}
    await lrs.log_reads(caller, persons, "xapi/statements")
    definitions = (
        await lrs.definitions(caller.tenant, _activity_ids(page)) if wanted == "canonical" else {}
    )
    more = ""
    if next_seq is not None:
        kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
        more = f"{request.url.path}?{urlencode([*kept, ('cursor', str(next_seq))])}"
    newest = max((s.seq for s in page), default=None)
    modified = seq_time(newest) if newest is not None else datetime.now(UTC)
    body = {"statements": _shape(request, page, definitions), "more": more}
    return await _respond(request, caller, body, page, modified)


# ---- activities and agents ------------------------------------------------------------------


@router.get("/activities")
@router.head("/activities", include_in_schema=False)
async def get_activity(request: Request) -> JSONResponse:
    caller = await _caller(request, {"activityId"})
    activity_id = request.query_params.get("activityId")
    if activity_id is None or not formats.is_iri(activity_id):
        raise XapiError(400, "activityId (an IRI) is required")
    definitions = await _lrs(request).definitions(caller.tenant, [activity_id])
    body: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definitions.get(activity_id):
        body["definition"] = definitions[activity_id]
    return JSONResponse(body)


@router.get("/agents")
@router.head("/agents", include_in_schema=False)
async def get_agents(request: Request) -> JSONResponse:
    await _caller(request, {"agent"})
    agent = parse_agent(request.query_params.get("agent"))
    if agent.get("objectType") == "Group":
        raise XapiError(400, "the Agents resource describes an Agent, not a Group")
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            person[key] = [agent[key]]
    return JSONResponse(person)


# ---- documents -------------------------------------------------------------------------------


def _preconditions(request: Request) -> Preconditions:
    return Preconditions(
        if_match=request.headers.get("if-match"), if_none_match=request.headers.get("if-none-match")
    )


def _since(request: Request) -> datetime | None:
    raw = request.query_params.get("since")
    if raw is None:
        return None
    moment = formats.parse_timestamp(raw)
    if moment is None:
        raise XapiError(400, "since must be a timestamp")
    return moment


AddressOf = Callable[[Request, str], Address]


def _state_address(request: Request, home_page: str) -> Address:
    params = request.query_params
    return address(
        "state",
        home_page=home_page,
        activity_id=params.get("activityId"),
        agent=parse_agent(params.get("agent")),
        registration=params.get("registration"),
    )


def _activity_profile_address(request: Request, home_page: str) -> Address:
    return address(
        "activity_profile", home_page=home_page, activity_id=request.query_params.get("activityId")
    )


def _agent_profile_address(request: Request, home_page: str) -> Address:
    return address(
        "agent_profile", home_page=home_page, agent=parse_agent(request.query_params.get("agent"))
    )


def _document_routes(
    path: str, kind: Kind, id_param: str, scope_params: set[str], address_of: AddressOf
) -> None:
    read_params = {*scope_params, id_param, "since"}
    write_params = {*scope_params, id_param}

    async def read(request: Request) -> Response:
        caller = await _caller(request, read_params)
        documents = _documents(request)
        where = address_of(request, documents.home_page)
        doc_id = request.query_params.get(id_param)
        if doc_id is None:
            ids, latest = await documents.ids(caller, where, _since(request))
            headers = {"Last-Modified": _http_date(latest or datetime.now(UTC))}
            return JSONResponse(ids, headers=headers)
        if "since" in request.query_params:
            raise XapiError(400, f"since is used without {id_param}")
        found = await documents.get(caller, where, doc_id)
        if where.person:
            await _lrs(request).log_reads(caller, {where.person}, f"xapi/{kind}")
        return Response(
            found.content,
            media_type=found.content_type,
            headers={"ETag": found.etag, "Last-Modified": _http_date(found.updated)},
        )

    def writer(merge: bool) -> Callable[[Request], Awaitable[Response]]:
        async def write(request: Request) -> Response:
            caller = await _caller(request, write_params)
            documents = _documents(request)
            where = address_of(request, documents.home_page)
            doc_id = request.query_params.get(id_param)
            if doc_id is None:
                raise XapiError(400, f"{id_param} is required")
            content = await request.body()
            content_type = request.headers.get("content-type", "application/octet-stream")
            await documents.write(
                caller, where, doc_id, content, content_type, _preconditions(request), merge=merge
            )
            return Response(status_code=204)

        return write

    async def delete(request: Request) -> Response:
        caller = await _caller(request, write_params)
        documents = _documents(request)
        where = address_of(request, documents.home_page)
        doc_id = request.query_params.get(id_param)
        if doc_id is None and kind != "state":
            raise XapiError(400, f"{id_param} is required")
        await documents.delete(caller, where, doc_id, _preconditions(request))
        return Response(status_code=204)

    router.add_api_route(path, read, methods=["GET"], name=f"read_{kind}")
    router.add_api_route(path, read, methods=["HEAD"], name=f"head_{kind}", include_in_schema=False)
    router.add_api_route(path, writer(False), methods=["PUT"], name=f"put_{kind}")
    router.add_api_route(path, writer(True), methods=["POST"], name=f"post_{kind}")
    router.add_api_route(path, delete, methods=["DELETE"], name=f"delete_{kind}")


_document_routes(
    "/activities/state",
    "state",
    "stateId",
    {"activityId", "agent", "registration"},
    _state_address,
)
_document_routes(
    "/activities/profile",
    "activity_profile",
    "profileId",
    {"activityId"},
    _activity_profile_address,
)
_document_routes("/agents/profile", "agent_profile", "profileId", {"agent"}, _agent_profile_address)
