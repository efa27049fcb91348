"""What the LRS does with a valid statement: complete it (id, stored, authority, version,
timestamp in UTC), derive the keys queries filter on, compare two statements, and shape it
for a response (`exact`, `ids`, `canonical`)."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from learning_paths.domain.xapi import formats
from learning_paths.domain.xapi.errors import XapiError
from learning_paths.domain.xapi.validation import IFIS, SIGNATURE_USAGE, VOIDED

VERSION = "2.0.0"
LANGUAGE_MAP_KEYS = ("name", "description", "display")


def agent_key(agent: Mapping[str, Any]) -> str | None:
    """The Agent's (or identified Group's) inverse functional identifier as one string."""
    if "mbox" in agent:
        return f"mbox|{agent['mbox']}"
    if "mbox_sha1sum" in agent:
        return f"sha1|{str(agent['mbox_sha1sum']).lower()}"
    if "openid" in agent:
        return f"openid|{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account|{account.get('homePage')}|{account.get('name')}"
    return None


def person_of(agent: Mapping[str, Any] | None, home_page: str) -> str | None:
    account = (agent or {}).get("account")
    if isinstance(account, dict) and account.get("homePage") == home_page:
        name = account.get("name")
        return str(name) if name else None
    return None


def ifi_only(agent: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {k: agent[k] for k in IFIS if k in agent}
    if "objectType" in agent:
        kept["objectType"] = agent["objectType"]
    return kept


@dataclass
class Keys:
    """The filter keys of one statement (what `GET /statements` matches on)."""

    actor: str | None = None
    object_agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_agents: set[str] = field(default_factory=set)
    related_activities: set[str] = field(default_factory=set)
    ref: str | None = None
    voids: str | None = None


def _agents_in(actor: Any) -> Iterator[str]:
    """Keys of an Agent or Group and (for Groups) of its members."""
    if not isinstance(actor, dict):
        return
    key = agent_key(actor)
    if key:
        yield key
    for member in actor.get("member") or []:
        if isinstance(member, dict):
            member_key = agent_key(member)
            if member_key:
                yield member_key


def _activities_of(context: Mapping[str, Any]) -> Iterator[str]:
    holder = context.get("contextActivities") or {}
    for items in holder.values():
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict) and "id" in item:
                yield str(item["id"])


def _collect(statement: Mapping[str, Any], keys: Keys, *, top: bool) -> None:
    actor = statement.get("actor")
    target = statement.get("object") or {}
    kind = target.get("objectType", "Activity")
    if top:
        keys.actor = agent_key(actor) if isinstance(actor, dict) else None
        keys.verb = str(statement["verb"]["id"])
        if kind in ("Agent", "Group"):
            keys.object_agent = agent_key(target)
        elif kind == "Activity":
            keys.activity = str(target["id"])
        elif kind == "StatementRef":
            if keys.verb == VOIDED:
                keys.voids = str(target["id"]).lower()
            else:
                keys.ref = str(target["id"]).lower()
        registration = (statement.get("context") or {}).get("registration")
        keys.registration = str(registration).lower() if registration else None
    keys.related_agents.update(_agents_in(actor))
    if kind in ("Agent", "Group"):
        keys.related_agents.update(_agents_in(target))
    elif kind == "Activity":
        keys.related_activities.add(str(target["id"]))
    elif kind == "SubStatement":
        _collect(target, keys, top=False)
    context = statement.get("context") or {}
    keys.related_activities.update(_activities_of(context))
    for key in ("instructor", "team"):
        keys.related_agents.update(_agents_in(context.get(key)))
    for entry in context.get("contextAgents") or []:
        keys.related_agents.update(_agents_in(entry.get("agent")))
    for entry in context.get("contextGroups") or []:
        keys.related_agents.update(_agents_in(entry.get("group")))
    if top:
        keys.related_agents.update(_agents_in(statement.get("authority")))


def keys_of(statement: Mapping[str, Any]) -> Keys:
    keys = Keys()
    _collect(statement, keys, top=True)
    return keys


def complete(
    statement: Mapping[str, Any],
    *,
    statement_id: str,
    stored: str,
    authority: Mapping[str, Any],
) -> dict[str, Any]:
    """The statement as stored: id, stored and authority set by the LRS, version 2.0.0 when
    absent, timestamp (= stored when absent) in UTC."""
    done = _with_context_arrays(dict(statement))
    done["id"] = statement_id
    done["stored"] = stored
    done["authority"] = dict(authority)
    done.setdefault("version", VERSION)
    done["timestamp"] = (
        formats.normalise_timestamp(done["timestamp"]) if "timestamp" in done else stored
    )
    target = done.get("object")
    nested = target if isinstance(target, dict) else {}
    if nested.get("objectType") == "SubStatement" and "timestamp" in nested:
        stamp = formats.normalise_timestamp(nested["timestamp"])
        done["object"] = {**nested, "timestamp": stamp}
    return done


def _context_arrays(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    holder = out.get("contextActivities")
    if isinstance(holder, dict):
        out["contextActivities"] = {k: v if isinstance(v, list) else [v] for k, v in holder.items()}
    return out


def _with_context_arrays(statement: dict[str, Any]) -> dict[str, Any]:
    """Context activities are stored (and returned) as arrays, also when one was given."""
    if isinstance(statement.get("context"), dict):
        statement["context"] = _context_arrays(statement["context"])
    target = statement.get("object")
    if isinstance(target, dict) and isinstance(target.get("context"), dict):
        statement["object"] = {**target, "context": _context_arrays(target["context"])}
    return statement


_SECONDS = re.compile(r"(\d+)(?:[.,](\d+))?S$")


def _duration_key(value: str) -> str:
    """Durations compare to 0.01 s: digits beyond the hundredths are dropped."""
    return _SECONDS.sub(lambda m: f"{m.group(1)}.{(m.group(2) or '')[:2].ljust(2, '0')}S", value)


def _comparable(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key == "contextActivities":
            value = {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return {
            k: _comparable(v, k)
            for k, v in value.items()
            if k not in ("stored", "authority", "version")
        }
    if isinstance(value, list):
        return [_comparable(v, key) for v in value]
    if key in ("id", "registration") and isinstance(value, str) and formats.is_uuid(value):
        return value.lower()
    if key == "duration" and isinstance(value, str):
        return _duration_key(value)
    if key == "timestamp" and isinstance(value, str):
        moment = formats.parse_timestamp(value)
        return moment.isoformat() if moment else value
    return value


def equivalent(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """The same statement for the LRS (xAPI "Statement comparison"): properties the LRS
    sets (stored, authority, version; timestamp and id when one side lacks them) are
    ignored, UUIDs compare case-insensitively, timestamps by the moment they name,
    durations to 0.01 s."""
    one, other = dict(first), dict(second)
    for key in ("timestamp", "id"):  # the LRS fills these in when they are not given
        if key not in one or key not in other:
            one.pop(key, None)
            other.pop(key, None)
    return bool(_comparable(one) == _comparable(other))


# ---- response formats ------------------------------------------------------------------------


def _ids_actor(actor: Any) -> Any:
    if not isinstance(actor, dict):
        return actor
    if actor.get("objectType") == "Group":
        kept = ifi_only(actor)
        if not any(k in actor for k in IFIS):
            kept["member"] = [ifi_only(m) for m in actor.get("member") or []]
        return kept
    return ifi_only(actor)


def _ids_activity(activity: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": activity["id"]}


def _ids_context(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    for key in ("instructor", "team"):
        if key in out:
            out[key] = _ids_actor(out[key])
    if "contextActivities" in out:
        out["contextActivities"] = {
            k: [_ids_activity(a) for a in v] if isinstance(v, list) else _ids_activity(v)
            for k, v in out["contextActivities"].items()
        }
    if "contextAgents" in out:
        out["contextAgents"] = [
            {**e, "agent": _ids_actor(e["agent"])} for e in out["contextAgents"]
        ]
    if "contextGroups" in out:
        out["contextGroups"] = [
            {**e, "group": _ids_actor(e["group"])} for e in out["contextGroups"]
        ]
    return out


def as_ids(statement: Mapping[str, Any]) -> dict[str, Any]:
    """`format=ids`: Agents and Groups by their identifier (anonymous Groups by their
    members'), Activities and Verbs by their id."""
    out = dict(statement)
    out["actor"] = _ids_actor(out["actor"])
    out["verb"] = {"id": out["verb"]["id"]}
    target = out["object"]
    kind = target.get("objectType", "Activity")
    if kind == "Activity":
        out["object"] = _ids_activity(target)
    elif kind in ("Agent", "Group"):
        out["object"] = _ids_actor(target)
    elif kind == "SubStatement":
        out["object"] = as_ids(target)
    if "context" in out:
        out["context"] = _ids_context(out["context"])
    if "authority" in out:
        out["authority"] = _ids_actor(out["authority"])
    return out


def pick_language(value: Mapping[str, str], accepted: Sequence[str]) -> dict[str, str]:
    """One entry of a language map: the first accepted language present, else the first."""
    if not value:
        return {}
    lowered = {k.lower(): k for k in value}
    for wanted in accepted:
        wanted = wanted.lower()
        if wanted in lowered:
            key = lowered[wanted]
            return {key: value[key]}
        prefix = next((k for low, k in lowered.items() if low.split("-")[0] == wanted), None)
        if prefix is not None:
            return {prefix: value[prefix]}
    first = next(iter(value))
    return {first: value[first]}


def _canonical(value: Any, accepted: Sequence[str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key in LANGUAGE_MAP_KEYS and all(isinstance(v, str) for v in value.values()):
            return pick_language(value, accepted)
        return {k: _canonical(v, accepted, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v, accepted, None) for v in value]
    return value


def as_canonical(
    statement: Mapping[str, Any],
    accepted: Sequence[str],
    definitions: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """`format=canonical`: Activities carry the LRS's canonical definition, and every
    language map keeps one language (the first accepted one present)."""
    out = copy.deepcopy(dict(statement))
    _replace_definitions(out, definitions)
    result: dict[str, Any] = _canonical(out, accepted)
    return result


def _replace_definitions(node: Any, definitions: Mapping[str, Mapping[str, Any]]) -> None:
    if isinstance(node, dict):
        if (
            node.get("objectType", "Activity") == "Activity"
            and "id" in node
            and ("definition" in node or str(node["id"]) in definitions)
        ):
            canonical = definitions.get(str(node["id"]))
            if canonical:
                node["definition"] = copy.deepcopy(dict(canonical))
        for key, child in node.items():
            if key != "definition":
                _replace_definitions(child, definitions)
    elif isinstance(node, list):
        for child in node:
            _replace_definitions(child, definitions)


def activities_with_definitions(statement: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Activity in the statement: the object, the context activities, and those of
    a sub-statement."""
    target = statement.get("object")
    if isinstance(target, dict):
        kind = target.get("objectType", "Activity")
        if kind == "Activity" and "id" in target:
            yield target
        elif kind == "SubStatement":
            yield from activities_with_definitions(target)
    context = statement.get("context")
    holder = context.get("contextActivities") if isinstance(context, dict) else None
    if isinstance(holder, dict):
        for items in holder.values():
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, dict) and "id" in item:
                    yield item


def merge_definition(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical definition after another statement's: language maps merge (the newer
    text per language), other properties take the newest value."""
    merged = dict(current or {})
    for key, value in new.items():
        if (key in ("name", "description") and isinstance(value, dict)) or (
            key == "extensions" and isinstance(value, dict)
        ):
            merged[key] = {**dict(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


# ---- signatures ----------------------------------------------------------------------------


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def check_signature(statement: Mapping[str, Any], jws: bytes) -> None:
    """A signed statement: a compact JWS (RS256/RS384/RS512) whose payload is the
    statement itself (without its attachments). The key is the signer's; the LRS checks
    the form and the payload (no certificate is given to check the signature against)."""
    try:
        header_b64, payload_b64, signature_b64 = jws.decode("ascii").strip().split(".")
        header = json.loads(_b64(header_b64))
        payload = json.loads(_b64(payload_b64))
        signature = _b64(signature_b64)
    except (ValueError, UnicodeDecodeError) as error:
        raise XapiError(400, f"the signature is not a valid JWS: {error}") from None
    if not isinstance(header, dict) or header.get("alg") not in ("RS256", "RS384", "RS512"):
        raise XapiError(400, "the signature must use RS256, RS384 or RS512")
    if not isinstance(payload, dict) or not signature:
        raise XapiError(400, "the signature's payload must be the statement")
    original = {k: v for k, v in statement.items() if k != "attachments"}
    signed = {k: v for k, v in payload.items() if k != "attachments"}
    if "id" not in signed:
        original.pop("id", None)
    if not equivalent(signed, original):
        raise XapiError(400, "the signature's payload differs from the statement")


def signature_attachments(statement: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in statement.get("attachments") or [] if a.get("usageType") == SIGNATURE_USAGE]
