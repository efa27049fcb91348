"""cmi5 course structures (`cmi5.xml`, the cmi5 CourseStructure XSD,
https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd): read one with every deviation
from the schema listed by its path, and write one for a module.

The checks follow the XSD: `courseStructure` holds `course` (title, description), optional
`objectives`, then one or more `au`/`block`; a block holds title, description, optional
objective references and one or more `au`/`block`; an AU holds title, description, optional
objective references, `url` (non-empty), optional `launchParameters` and `entitlementKey`.
Texts are one or more `langstring` (`lang` an xs:language). Required `id`s are anyURIs;
`moveOn`, `launchMethod` are enumerations, `masteryScore` a decimal in [0, 1]. Elements and
attributes of other namespaces may follow where the schema allows them (`##other`); anything
else in the cmi5 namespace, or without a namespace, is an error. A document type declaration
is refused (no entity expansion).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from wijkkracht_common.texts import Text

from learning_paths.domain.errors import InvalidContent, Issue

NS = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"
MOVE_ON = {"NotApplicable", "Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed"}
LAUNCH = {"AnyWindow", "OwnWindow"}
LANGUAGE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")
URI = re.compile(r"^\S+$")
MAX_UNITS = 2_000


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


@dataclass
class Unit:
    """An assignable unit, with the titles of the blocks it sits in."""

    id: str
    title: dict[str, str]
    description: dict[str, str]
    url: str
    move_on: str = "NotApplicable"
    mastery_score: float | None = None
    blocks: tuple[str, ...] = ()


@dataclass
class CourseStructure:
    course_id: str
    title: dict[str, str]
    description: dict[str, str]
    units: list[Unit] = field(default_factory=list)


class _Checker:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, path: str, code: str, nl: str, en: str) -> None:
        self.issues.append(Issue(f"cmi5.xml: {path}", code, Text(nl, en)))

    def attributes(
        self, element: ET.Element, path: str, allowed: set[str], required: set[str]
    ) -> None:
        for name in element.attrib:
            if (not name.startswith("{") and name not in allowed) or name.startswith(f"{{{NS}}}"):
                self.add(
                    path,
                    "unknown_attribute",
                    f"Onbekend attribuut '{name}'.",
                    f"Unknown attribute '{name}'.",
                )
        for name in sorted(required - set(element.attrib)):
            self.add(
                path,
                "required",
                f"Attribuut '{name}' ontbreekt.",
                f"Attribute '{name}' is missing.",
            )
        for name in ("id", "idref"):
            if name in element.attrib and not URI.match(element.attrib[name]):
                self.add(f"{path}/@{name}", "invalid_uri", "Geen geldige URI.", "Not a valid URI.")

    def text(self, element: ET.Element | None, path: str) -> dict[str, str]:
        if element is None:
            return {}
        self.attributes(element, path, set(), set())
        found: dict[str, str] = {}
        strings = 0
        for n, child in enumerate(list(element)):
            at = f"{path}/{_local(child)}[{n + 1}]"
            if child.tag == _q("langstring"):
                strings += 1
                self.attributes(child, at, {"lang"}, set())
                lang = child.attrib.get("lang", "")
                if lang and not LANGUAGE.match(lang):
                    self.add(
                        f"{at}/@lang",
                        "invalid_language",
                        "Geen geldige taalcode.",
                        "Not a valid language code.",
                    )
                if list(child):
                    self.add(
                        at,
                        "unexpected_element",
                        "Een langstring bevat alleen tekst.",
                        "A langstring holds text only.",
                    )
                found[lang or "und"] = " ".join((child.text or "").split())
            elif child.tag.startswith(f"{{{NS}}}") or not child.tag.startswith("{"):
                self.add(
                    at,
                    "unexpected_element",
                    f"Onverwacht element '{_local(child)}'.",
                    f"Unexpected element '{_local(child)}'.",
                )
        if strings == 0:
            self.add(path, "required", "Minstens één langstring.", "At least one langstring.")
        return found

    def sequence(
        self, parent: ET.Element, path: str, order: list[tuple[str, int, int | None]]
    ) -> dict[str, list[ET.Element]]:
        """Children in schema order: (name, min, max); `*` names the au/block choice;
        foreign elements may only follow at the end."""
        found: dict[str, list[ET.Element]] = {name: [] for name, _, _ in order}
        position = 0
        names = [name for name, _, _ in order]
        foreign_seen = False
        for n, child in enumerate(list(parent)):
            local = _local(child)
            at = f"{path}/{local}[{n + 1}]"
            ours = child.tag.startswith(f"{{{NS}}}")
            if not ours:
                if not child.tag.startswith("{"):
                    self.add(
                        at,
                        "wrong_namespace",
                        "Element zonder de cmi5-namespace.",
                        "Element without the cmi5 namespace.",
                    )
                foreign_seen = True
                continue
            key = "*" if local in ("au", "block") and "*" in names else local
            if key not in names:
                self.add(
                    at,
                    "unexpected_element",
                    f"Onverwacht element '{local}'.",
                    f"Unexpected element '{local}'.",
                )
                continue
            index = names.index(key)
            if index < position or foreign_seen:
                self.add(
                    at,
                    "out_of_order",
                    f"'{local}' staat niet op de juiste plaats.",
                    f"'{local}' is out of order.",
                )
            position = max(position, index)
            found[key].append(child)
        for name, low, high in order:
            count = len(found[name])
            label = "au of block" if name == "*" else name
            if count < low:
                self.add(path, "required", f"'{label}' ontbreekt.", f"'{label}' is missing.")
            if high is not None and count > high:
                self.add(
                    path, "too_many", f"'{label}' staat er te vaak.", f"'{label}' occurs too often."
                )
        return found


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _units(
    checker: _Checker, children: list[ET.Element], path: str, blocks: tuple[str, ...]
) -> Iterator[Unit]:
    counts: dict[str, int] = {"au": 0, "block": 0}
    for child in children:
        local = _local(child)
        counts[local] += 1
        at = f"{path}/{local}[{counts[local]}]"
        if local == "block":
            checker.attributes(child, at, {"id"}, {"id"})
            parts = checker.sequence(
                child,
                at,
                [("title", 1, 1), ("description", 1, 1), ("objectives", 0, 1), ("*", 1, None)],
            )
            title = checker.text(next(iter(parts["title"]), None), f"{at}/title")
            checker.text(next(iter(parts["description"]), None), f"{at}/description")
            label = title.get("nl") or next(iter(title.values()), "")
            yield from _units(checker, parts["*"], at, (*blocks, label))
            continue
        checker.attributes(
            child, at, {"id", "moveOn", "masteryScore", "launchMethod", "activityType"}, {"id"}
        )
        parts = checker.sequence(
            child,
            at,
            [
                ("title", 1, 1),
                ("description", 1, 1),
                ("objectives", 0, 1),
                ("url", 1, 1),
                ("launchParameters", 0, 1),
                ("entitlementKey", 0, 1),
            ],
        )
        move_on = child.attrib.get("moveOn", "NotApplicable")
        if move_on not in MOVE_ON:
            checker.add(f"{at}/@moveOn", "invalid_value", "Ongeldige moveOn.", "Invalid moveOn.")
        if child.attrib.get("launchMethod", "AnyWindow") not in LAUNCH:
            checker.add(
                f"{at}/@launchMethod",
                "invalid_value",
                "Ongeldige launchMethod.",
                "Invalid launchMethod.",
            )
        mastery: float | None = None
        if "masteryScore" in child.attrib:
            try:
                value = Decimal(child.attrib["masteryScore"])
                if not Decimal(0) <= value <= Decimal(1):
                    raise InvalidOperation
                mastery = float(value)
            except InvalidOperation:
                checker.add(
                    f"{at}/@masteryScore",
                    "invalid_value",
                    "masteryScore ligt tussen 0 en 1.",
                    "masteryScore lies between 0 and 1.",
                )
        url_element = next(iter(parts["url"]), None)
        url = (url_element.text or "").strip() if url_element is not None else ""
        if url_element is not None and (not url or not URI.match(url)):
            checker.add(
                f"{at}/url",
                "invalid_uri",
                "De url is leeg of ongeldig.",
                "The url is empty or invalid.",
            )
        yield Unit(
            id=child.attrib.get("id", ""),
            title=checker.text(next(iter(parts["title"]), None), f"{at}/title"),
            description=checker.text(next(iter(parts["description"]), None), f"{at}/description"),
            url=url,
            move_on=move_on,
            mastery_score=mastery,
            blocks=blocks,
        )


def parse(document: bytes) -> CourseStructure:
    """Read and check a cmi5.xml; raises `InvalidContent` listing every problem."""
    if b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
        raise InvalidContent.single(
            "cmi5.xml", "doctype", Text("Geen DOCTYPE toegestaan.", "No DOCTYPE allowed.")
        )
    try:
        root = ET.fromstring(document)  # noqa: S314 - no DTD (checked above)
    except ET.ParseError as error:
        raise InvalidContent.single(
            "cmi5.xml",
            "not_xml",
            Text(f"Geen geldige XML: {error}", f"Not valid XML: {error}"),
        ) from None
    checker = _Checker()
    if root.tag != _q("courseStructure"):
        checker.add(
            _local(root),
            "wrong_root",
            "Het hoofdelement is courseStructure (cmi5).",
            "The root element is courseStructure (cmi5).",
        )
        raise InvalidContent(checker.issues)
    checker.attributes(root, "courseStructure", set(), set())
    parts = checker.sequence(
        root, "courseStructure", [("course", 1, 1), ("objectives", 0, 1), ("*", 1, None)]
    )
    course = next(iter(parts["course"]), None)
    course_id, title, description = "", {}, {}
    if course is not None:
        checker.attributes(course, "courseStructure/course", {"id"}, {"id"})
        course_id = course.attrib.get("id", "")
        inner = checker.sequence(
            course, "courseStructure/course", [("title", 1, 1), ("description", 1, 1)]
        )
        title = checker.text(next(iter(inner["title"]), None), "courseStructure/course/title")
        description = checker.text(
            next(iter(inner["description"]), None), "courseStructure/course/description"
        )
    for objectives in parts["objectives"]:
        for n, objective in enumerate(list(objectives)):
            at = f"courseStructure/objectives/objective[{n + 1}]"
            if objective.tag == _q("objective"):
                checker.attributes(objective, at, {"id"}, {"id"})
    units = list(_units(checker, parts["*"], "courseStructure", ()))
    if len(units) > MAX_UNITS:
        checker.add(
            "courseStructure",
            "too_many",
            f"Hoogstens {MAX_UNITS} onderdelen.",
            f"At most {MAX_UNITS} units.",
        )
    if checker.issues:
        raise InvalidContent(checker.issues)
    return CourseStructure(course_id, title, description, units)


def _langstrings(parent: ET.Element, name: str, texts: dict[str, str]) -> None:
    holder = ET.SubElement(parent, _q(name))
    for lang, value in texts.items():
        item = ET.SubElement(holder, _q("langstring"), {"lang": lang})
        item.text = value


def write(structure: CourseStructure) -> bytes:
    """A cmi5.xml for `structure` (every unit directly under the course)."""
    ET.register_namespace("", NS)
    root = ET.Element(_q("courseStructure"))
    course = ET.SubElement(root, _q("course"), {"id": structure.course_id})
    _langstrings(course, "title", structure.title)
    _langstrings(course, "description", structure.description or structure.title)
    for unit in structure.units:
        attributes = {"id": unit.id, "moveOn": unit.move_on}
        if unit.mastery_score is not None:
            attributes["masteryScore"] = f"{unit.mastery_score:g}"
        element = ET.SubElement(root, _q("au"), attributes)
        _langstrings(element, "title", unit.title)
        _langstrings(element, "description", unit.description or unit.title)
        url = ET.SubElement(element, _q("url"))
        url.text = unit.url
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
