from __future__ import annotations

import pytest
from social_map.domain.errors import DomainValidationError
from social_map.domain.taxonomy import DEFAULT_CATEGORIES, Category, Dimension, Taxonomy


def _cat(code: str, parent: str | None = None) -> Category:
    return Category(code=code, parent=parent, label_nl=code, label_en=code)


def test_default_taxonomy_shape(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.categories) >= 20
    for code in [
        "wandelen",
        "koffieochtend",
        "schulden",
        "mantelzorg",
        "eenzaamheid",
        "taal",
        "digitaal",
        "opvoeding",
        "vrijwilligerswerk",
    ]:
        assert code in taxonomy
    assert (
        taxonomy.label("wandelen") == "Wandelen" and taxonomy.label("wandelen", "en") == "Walking"
    )


def test_walking_group_maps_to_participation_and_bodily_functions(taxonomy: Taxonomy) -> None:
    assert set(taxonomy.dimensions_for("wandelen")) == {
        Dimension.PARTICIPATION,
        Dimension.BODILY_FUNCTIONS,
    }
    assert "wandelen" in taxonomy.categories_for_dimension(Dimension.PARTICIPATION)


def test_descendants_and_inherited_dimensions() -> None:
    t = Taxonomy.build(
        [
            Category(code="a", label_nl="A", label_en="A", dimensions=[Dimension.MEANINGFULNESS]),
            _cat("b", "a"),
            _cat("c", "b"),
            _cat("d"),
        ]
    )
    assert t.descendants("a") == {"a", "b", "c"}
    assert t.ancestors("c") == ["b", "a"]
    assert t.dimensions_for("c") == [Dimension.MEANINGFULNESS]
    assert t.dimensions_for("d") == []


def test_unknown_parent_and_duplicate_are_reported_per_field() -> None:
    with pytest.raises(DomainValidationError) as exc:
        Taxonomy.build([_cat("a"), _cat("b", "zzz"), _cat("a")])
    assert set(exc.value.fields) == {"categories[1].parent", "categories[2].code"}


def test_cycles_are_rejected() -> None:
    with pytest.raises(DomainValidationError) as exc:
        Taxonomy.build([_cat("a", "c"), _cat("b", "a"), _cat("c", "b"), _cat("d")])
    assert "categories[0].parent" in exc.value.fields
    with pytest.raises(DomainValidationError):
        Taxonomy.build([_cat("a", "a")])


def test_unknown_category_codes(taxonomy: Taxonomy) -> None:
    with pytest.raises(DomainValidationError) as exc:
        taxonomy.validate_codes(["wandelen", "paardrijden"])
    assert exc.value.fields == ["category_codes[1]"]
    with pytest.raises(DomainValidationError) as exc2:
        taxonomy.descendants("paardrijden")
    assert exc2.value.fields == ["category"]


def test_default_categories_are_editable_data() -> None:
    edited = [*DEFAULT_CATEGORIES, _cat("jeu_de_boules", "bewegen")]
    t = Taxonomy.build(edited)
    assert "jeu_de_boules" in t.descendants("bewegen")
