"""cmi5 course structures: the schema's rules with the path of each deviation, and what we
write reads back."""

from __future__ import annotations

import pytest
from learning_paths.domain import cmi5
from learning_paths.domain.errors import InvalidContent

NS = cmi5.NS


def document(units: str, course: str | None = None) -> bytes:
    course = course or (
        '<course id="http://example.org/c"><title><langstring lang="nl">Cursus</langstring>'
        '</title><description><langstring lang="nl">Over</langstring></description></course>'
    )
    root = f'<courseStructure xmlns="{NS}">{course}{units}</courseStructure>'
    return f'<?xml version="1.0"?>{root}'.encode()


AU = (
    '<au id="http://example.org/au/{n}" moveOn="Completed"><title><langstring lang="nl">'
    'Deel {n}</langstring></title><description><langstring lang="nl">Uitleg {n}</langstring>'
    "</description><url>https://content.example.org/{n}.html</url></au>"
)


def test_a_valid_structure_with_blocks_is_read() -> None:
    block = (
        '<block id="http://example.org/b"><title><langstring lang="nl">Blok</langstring></title>'
        '<description><langstring lang="nl">B</langstring></description>'
        + AU.format(n=2)
        + "</block>"
    )
    found = cmi5.parse(document(AU.format(n=1) + block))
    assert [u.id for u in found.units] == ["http://example.org/au/1", "http://example.org/au/2"]
    assert found.units[1].blocks == ("Blok",) and found.title == {"nl": "Cursus"}


def test_every_deviation_is_listed_with_its_path() -> None:
    bad = (
        '<au id="http://example.org/au/1" moveOn="Sometimes" masteryScore="1.5" kleur="rood">'
        "<description><langstring>x</langstring></description><title><langstring>t</langstring>"
        "</title><url></url><onbekend/></au>"
    )
    with pytest.raises(InvalidContent) as caught:
        cmi5.parse(document(bad))
    paths = {(i.path, i.code) for i in caught.value.issues}
    assert ("cmi5.xml: courseStructure/au[1]", "unknown_attribute") in paths
    assert ("cmi5.xml: courseStructure/au[1]/@moveOn", "invalid_value") in paths
    assert ("cmi5.xml: courseStructure/au[1]/@masteryScore", "invalid_value") in paths
    assert ("cmi5.xml: courseStructure/au[1]/title[2]", "out_of_order") in paths
    assert ("cmi5.xml: courseStructure/au[1]/url", "invalid_uri") in paths
    assert ("cmi5.xml: courseStructure/au[1]/onbekend[4]", "unexpected_element") in paths


def test_a_course_needs_units_and_no_doctype() -> None:
    with pytest.raises(InvalidContent) as caught:
        cmi5.parse(document(""))
    assert caught.value.issues[0].path == "cmi5.xml: courseStructure"
    with pytest.raises(InvalidContent):
        cmi5.parse(b'<!DOCTYPE x [<!ENTITY a "b">]><courseStructure/>')
    with pytest.raises(InvalidContent):
        cmi5.parse(b"<niet-af")


def test_what_we_write_reads_back() -> None:
    structure = cmi5.CourseStructure(
        "http://example.org/m",
        {"nl": "Module", "en": "Module"},
        {"nl": "Over"},
        [
            cmi5.Unit(
                id=f"http://example.org/m/steps/{n}",
                title={"nl": f"Stap {n}"},
                description={"nl": f"Stap {n}"},
                url=f"http://example.org/m/steps/{n}/print",
                move_on="Completed",
                mastery_score=0.5 if n == 2 else None,
            )
            for n in range(1, 4)
        ],
    )
    again = cmi5.parse(cmi5.write(structure))
    assert [u.id for u in again.units] == [u.id for u in structure.units]
    assert again.units[1].mastery_score == 0.5
