"""Statement validation by the rules of xAPI 2.0 (IEEE 9274.1.1, "Statement Requirements").

`check_statement(statement)` raises `XapiError` (400) at the first rule a statement breaks,
with the path of the offending property (`context.contextActivities.parent[0].id`). Objects
may hold only the properties the standard defines; every identifier, IRI, language map,
timestamp, duration and score is checked as the standard says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from learning_paths.domain.xapi import formats
from learning_paths.domain.xapi.errors import XapiError

INTERACTION_TYPES = {
    "true-false": set(),
    "choice": {"choices"},
    "fill-in": set(),
    "long-fill-in": set(),
    "matching": {"source", "target"},
    "performance": {"steps"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "numeric": set(),
    "other": set(),
}
COMPONENT_LISTS = {"choices", "scale", "source", "target", "steps"}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
AGENT_KEYS = frozenset({"objectType", "name", *IFIS})
GROUP_KEYS = frozenset({"objectType", "name", "member", *IFIS})
ACCOUNT_KEYS = frozenset({"homePage", "name"})
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
DEFINITION_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        *COMPONENT_LISTS,
    }
)
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
CONTEXT_KEYS = frozenset(
    {
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
        "contextAgents",
        "contextGroups",
    }
)
CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
SUBSTATEMENT_KEYS = {
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
}


def _fail(path: str, message: str) -> XapiError:
    return XapiError(400, f"{path}: {message}")


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be a JSON object")
    return value


def _only(value: Mapping[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    if value.keys() <= allowed:  # the common case, without building a set
        return
    extra = sorted(set(value) - allowed)
    raise _fail(f"{path}.{extra[0]}", "is not a property defined by xAPI here")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    return value


def _iri(value: Any, path: str) -> str:
    if not formats.is_iri(value):
        raise _fail(path, "must be an IRI")
    return str(value)


def _irl(value: Any, path: str) -> str:
    if not formats.is_irl(value):
        raise _fail(path, "must be an IRL (an absolute URL)")
    return str(value)


def _uuid(value: Any, path: str) -> str:
    if not formats.is_uuid(value):
        raise _fail(path, "must be a UUID")
    return str(value)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "must be a number")
    return float(value)


def language_map(value: Any, path: str) -> None:
    mapping = _object(value, path)
    for tag, text in mapping.items():
        if not formats.is_language_tag(tag):
            raise _fail(f"{path}.{tag}", "is not an RFC 5646 language tag")
        _string(text, f"{path}.{tag}")


def extensions(value: Any, path: str) -> None:
    for key in _object(value, path):
        _iri(key, f"{path}[{key!r}]")


def agent(value: Any, path: str, *, object_type_required: bool = False) -> None:
    data = _object(value, path)
    _only(data, AGENT_KEYS, path)
    kind = data.get("objectType")
    if kind is None and object_type_required:
        raise _fail(f"{path}.objectType", "is required for an Agent used as object")
    if kind is not None and kind != "Agent":
        raise _fail(f"{path}.objectType", "must be 'Agent'")
    if "name" in data:
        _string(data["name"], f"{path}.name")
    given = [k for k in IFIS if k in data]
    if len(given) != 1:
        raise _fail(
            path, "an Agent has exactly one identifier (mbox, mbox_sha1sum, openid, account)"
        )
    ifi(data, given[0], path)


def ifi(data: Mapping[str, Any], key: str, path: str) -> None:
    value = data[key]
    at = f"{path}.{key}"
    if key == "mbox":
        if not isinstance(value, str) or formats.MBOX.match(value) is None:
            raise _fail(at, "must be a mailto IRI (mailto:name@example.org)")
    elif key == "mbox_sha1sum":
        if not isinstance(value, str) or formats.SHA1.match(value) is None:
            raise _fail(at, "must be a SHA-1 hash in hexadecimal")
    elif key == "openid":
        _iri(value, at)
    elif key == "account":
        account = _object(value, at)
        _only(account, ACCOUNT_KEYS, at)
        if "homePage" not in account or "name" not in account:
            raise _fail(at, "an account has a homePage and a name")
        _irl(account["homePage"], f"{at}.homePage")
        _string(account["name"], f"{at}.name")


def group(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, GROUP_KEYS, path)
    if data.get("objectType") != "Group":
        raise _fail(f"{path}.objectType", "must be 'Group'")
    if "name" in data:
        _string(data["name"], f"{path}.name")
    given = [k for k in IFIS if k in data]
    if len(given) > 1:
        raise _fail(path, "a Group has at most one identifier")
    if given:
        ifi(data, given[0], path)
    members = data.get("member")
    if not given and members is None:
        raise _fail(f"{path}.member", "an anonymous Group lists its members")
    if members is not None:
        if not isinstance(members, list):
            raise _fail(f"{path}.member", "must be an array of Agents")
        if not given and not members:
            raise _fail(f"{path}.member", "an anonymous Group has at least one member")
        for n, member in enumerate(members):
            at = f"{path}.member[{n}]"
            if isinstance(member, dict) and member.get("objectType") == "Group":
                raise _fail(at, "a Group's members are Agents, not Groups")
            agent(member, at)


def actor(value: Any, path: str, *, as_object: bool = False) -> None:
    data = _object(value, path)
    if data.get("objectType") == "Group":
        group(data, path)
    else:
        agent(data, path, object_type_required=as_object)


def verb(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, VERB_KEYS, path)
    if "id" not in data:
        raise _fail(f"{path}.id", "is required")
    _iri(data["id"], f"{path}.id")
    if "display" in data:
        language_map(data["display"], f"{path}.display")


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, "must be an array of interaction components")
    seen: set[str] = set()
    for n, component in enumerate(value):
        at = f"{path}[{n}]"
        data = _object(component, at)
        _only(data, {"id", "description"}, at)
        if "id" not in data:
            raise _fail(f"{at}.id", "is required")
        component_id = _string(data["id"], f"{at}.id")
        if component_id in seen:
            raise _fail(f"{at}.id", "must be unique within the list")
        seen.add(component_id)
        if "description" in data:
            language_map(data["description"], f"{at}.description")


def definition(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, DEFINITION_KEYS, path)
    for key in ("name", "description"):
        if key in data:
            language_map(data[key], f"{path}.{key}")
    if "type" in data:
        _iri(data["type"], f"{path}.type")
    if "moreInfo" in data:
        _irl(data["moreInfo"], f"{path}.moreInfo")
    if "extensions" in data:
        extensions(data["extensions"], f"{path}.extensions")
    kind = data.get("interactionType")
    lists = COMPONENT_LISTS.intersection(data)
    if kind is None:
        if "correctResponsesPattern" in data or lists:
            raise _fail(f"{path}.interactionType", "is required with interaction properties")
        return
    if not isinstance(kind, str) or kind not in INTERACTION_TYPES:
        raise _fail(f"{path}.interactionType", "is not an xAPI interaction type")
    wrong = sorted(lists - INTERACTION_TYPES[kind])
    if wrong:
        raise _fail(f"{path}.{wrong[0]}", f"does not belong to a '{kind}' interaction")
    for key in lists:
        _components(data[key], f"{path}.{key}")
    if "correctResponsesPattern" in data:
        pattern = data["correctResponsesPattern"]
        if not isinstance(pattern, list):
            raise _fail(f"{path}.correctResponsesPattern", "must be an array of strings")
        for n, item in enumerate(pattern):
            _string(item, f"{path}.correctResponsesPattern[{n}]")


def activity(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, ACTIVITY_KEYS, path)
    if data.get("objectType", "Activity") != "Activity":
        raise _fail(f"{path}.objectType", "must be 'Activity'")
    if "id" not in data:
        raise _fail(f"{path}.id", "is required")
    _iri(data["id"], f"{path}.id")
    if "definition" in data:
        definition(data["definition"], f"{path}.definition")


def statement_ref(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, {"objectType", "id"}, path)
    if data.get("objectType") != "StatementRef":
        raise _fail(f"{path}.objectType", "must be 'StatementRef'")
    if "id" not in data:
        raise _fail(f"{path}.id", "is required")
    _uuid(data["id"], f"{path}.id")


def object_(value: Any, path: str, *, in_substatement: bool = False) -> None:
    data = _object(value, path)
    kind = data.get("objectType", "Activity")
    if kind == "Activity":
        activity(data, path)
    elif kind == "Agent":
        agent(data, path, object_type_required=True)
    elif kind == "Group":
        group(data, path)
    elif kind == "StatementRef":
        statement_ref(data, path)
    elif kind == "SubStatement":
        if in_substatement:
            raise _fail(f"{path}.objectType", "a SubStatement cannot hold a SubStatement")
        substatement(data, path)
    else:
        raise _fail(f"{path}.objectType", "is not an xAPI object type")


def score(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, SCORE_KEYS, path)
    numbers = {k: _number(v, f"{path}.{k}") for k, v in data.items()}
    scaled = numbers.get("scaled")
    if scaled is not None and not -1.0 <= scaled <= 1.0:
        raise _fail(f"{path}.scaled", "must be between -1 and 1")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and low > high:
        raise _fail(f"{path}.min", "must not be above max")
    if raw is not None and low is not None and raw < low:
        raise _fail(f"{path}.raw", "must not be below min")
    if raw is not None and high is not None and raw > high:
        raise _fail(f"{path}.raw", "must not be above max")


def result(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, RESULT_KEYS, path)
    if "score" in data:
        score(data["score"], f"{path}.score")
    for key in ("success", "completion"):
        if key in data:
            _bool(data[key], f"{path}.{key}")
    if "response" in data:
        _string(data["response"], f"{path}.response")
    if "duration" in data and not formats.is_duration(data["duration"]):
        raise _fail(f"{path}.duration", "must be an ISO 8601 duration")
    if "extensions" in data:
        extensions(data["extensions"], f"{path}.extensions")


def _activities(value: Any, path: str) -> None:
    items = value if isinstance(value, list) else [value]
    for n, item in enumerate(items):
        activity(item, f"{path}[{n}]" if isinstance(value, list) else path)


def _relevant_types(value: Any, path: str) -> None:
    if not isinstance(value, list) or not value:
        raise _fail(path, "must be a non-empty array of IRIs")
    for n, item in enumerate(value):
        _iri(item, f"{path}[{n}]")


def context(value: Any, path: str, statement_object: Mapping[str, Any]) -> None:
    data = _object(value, path)
    _only(data, CONTEXT_KEYS, path)
    if "registration" in data:
        _uuid(data["registration"], f"{path}.registration")
    if "instructor" in data:
        actor(data["instructor"], f"{path}.instructor")
    if "team" in data:
        group(data["team"], f"{path}.team")
    if "contextActivities" in data:
        holder = _object(data["contextActivities"], f"{path}.contextActivities")
        _only(holder, CONTEXT_ACTIVITY_KEYS, f"{path}.contextActivities")
        for key, items in holder.items():
            _activities(items, f"{path}.contextActivities.{key}")
    is_activity = statement_object.get("objectType", "Activity") == "Activity"
    for key in ("revision", "platform"):
        if key in data:
            _string(data[key], f"{path}.{key}")
            if not is_activity:
                raise _fail(f"{path}.{key}", "is only allowed when the object is an Activity")
    if "language" in data and not formats.is_language_tag(data["language"]):
        raise _fail(f"{path}.language", "is not an RFC 5646 language tag")
    if "statement" in data:
        statement_ref(data["statement"], f"{path}.statement")
    if "extensions" in data:
        extensions(data["extensions"], f"{path}.extensions")
    for key, kind, member_key in (
        ("contextAgents", "contextAgent", "agent"),
        ("contextGroups", "contextGroup", "group"),
    ):
        if key not in data:
            continue
        items = data[key]
        if not isinstance(items, list):
            raise _fail(f"{path}.{key}", "must be an array")
        for n, item in enumerate(items):
            at = f"{path}.{key}[{n}]"
            entry = _object(item, at)
            _only(entry, {"objectType", member_key, "relevantTypes"}, at)
            if entry.get("objectType") != kind:
                raise _fail(f"{at}.objectType", f"must be '{kind}'")
            if member_key not in entry:
                raise _fail(f"{at}.{member_key}", "is required")
            if member_key == "agent":
                agent(entry["agent"], f"{at}.agent")
            else:
                group(entry["group"], f"{at}.group")
            if "relevantTypes" in entry:
                _relevant_types(entry["relevantTypes"], f"{at}.relevantTypes")


def attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, "must be an array")
    for n, item in enumerate(value):
        at = f"{path}[{n}]"
        data = _object(item, at)
        _only(
            data,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"},
            at,
        )
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in data:
                raise _fail(f"{at}.{key}", "is required")
        _iri(data["usageType"], f"{at}.usageType")
        language_map(data["display"], f"{at}.display")
        if "description" in data:
            language_map(data["description"], f"{at}.description")
        if not isinstance(data["contentType"], str) or not formats.MIME.match(data["contentType"]):
            raise _fail(f"{at}.contentType", "must be an Internet Media Type")
        length = data["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise _fail(f"{at}.length", "must be a whole number")
        if not isinstance(data["sha2"], str) or not formats.SHA2.match(data["sha2"]):
            raise _fail(f"{at}.sha2", "must be a SHA-2 hash in hexadecimal")
        if "fileUrl" in data:
            _irl(data["fileUrl"], f"{at}.fileUrl")


def _timestamp(value: Any, path: str) -> None:
    if not formats.is_timestamp(value):
        raise _fail(path, "must be an RFC 3339 timestamp (offset -00:00 is not allowed)")


def _core(data: Mapping[str, Any], path: str, *, in_substatement: bool) -> None:
    for key in ("actor", "verb", "object"):
        if key not in data:
            raise _fail(f"{path}.{key}" if path else key, "is required")
    at = f"{path}." if path else ""
    actor(data["actor"], f"{at}actor")
    verb(data["verb"], f"{at}verb")
    object_(data["object"], f"{at}object", in_substatement=in_substatement)
    target = _object(data["object"], f"{at}object")
    if "result" in data:
        result(data["result"], f"{at}result")
    if "context" in data:
        context(data["context"], f"{at}context", target)
    if "timestamp" in data:
        _timestamp(data["timestamp"], f"{at}timestamp")
    if "attachments" in data:
        attachments(data["attachments"], f"{at}attachments")
    verb_id = _object(data["verb"], f"{at}verb")["id"]
    if verb_id == VOIDED and target.get("objectType") != "StatementRef":
        raise _fail(f"{at}object", "a voiding statement's object is a StatementRef")


def substatement(value: Any, path: str) -> None:
    data = _object(value, path)
    _only(data, SUBSTATEMENT_KEYS, path)
    _core(data, path, in_substatement=True)


def check_statement(value: Any) -> Mapping[str, Any]:
    data = _object(value, "statement")
    _only(data, STATEMENT_KEYS, "statement")
    if "id" in data:
        _uuid(data["id"], "id")
    _core(data, "", in_substatement=False)
    if "stored" in data:
        _timestamp(data["stored"], "stored")
    if "authority" in data:
        authority = _object(data["authority"], "authority")
        actor(authority, "authority")
        if authority.get("objectType") == "Group":
            members = authority.get("member") or []
            if any(k in authority for k in IFIS) or len(members) != 2:
                raise _fail("authority", "a Group as authority is anonymous with two Agents")
    if "version" in data:
        version = data["version"]
        if not isinstance(version, str) or formats.VERSION.match(version) is None:
            raise _fail("version", "must be 1.0.x or 2.0.x")
    return data
