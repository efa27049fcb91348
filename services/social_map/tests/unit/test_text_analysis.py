from __future__ import annotations

from social_map.domain.ranking import index_tokens
from social_map.domain.taxonomy import Taxonomy, default_taxonomy
from social_map.domain.text_analysis import Analyzer, normalize, words
from social_map_testkit import make_entry


def _matches(analyzer: Analyzer, query: str, document: str) -> bool:
    return bool(set(analyzer.query_tokens(query)) & analyzer.text_tokens(document))


def test_normalisation_and_stopwords() -> None:
    assert normalize("Café Geïnteresseerd") == "cafe geinteresseerd"
    assert words("De koffie-ochtend in het Buurthuis!") == ["koffie", "ochtend", "buurthuis"]


def test_compound_words_are_found_by_their_parts(analyzer: Analyzer) -> None:
    assert analyzer.split_compound("wandelgroep") == ["wandel", "groep"]
    assert analyzer.split_compound("vrijwilligerswerk") == ["vrijwilliger", "werk"]
    assert _matches(analyzer, "wandelen", "Wandelgroep De Stappers")
    assert _matches(analyzer, "ochtend", "Koffieochtend")
    assert _matches(analyzer, "schuld", "Schuldhulpmaatje")


def test_synonyms(analyzer: Analyzer) -> None:
    assert _matches(analyzer, "lopen", "Wandelgroep")
    assert _matches(analyzer, "koffie", "Inloop in het buurthuis")
    assert _matches(analyzer, "schulden", "Spreekuur geldzaken")
    assert _matches(analyzer, "eenzaam", "Ontmoeting voor buurtbewoners")
    assert not _matches(analyzer, "schulden", "Wandelgroep")


def test_query_terms_weigh_exact_over_synonym(analyzer: Analyzer) -> None:
    (term,) = analyzer.query_terms("lopen")
    assert term.alternatives["lop"] == 1.0 and term.alternatives["~wandelen"] < 1.0
    assert analyzer.query_terms("de het een") == []


def test_index_tokens_cover_title_category_and_description(
    analyzer: Analyzer, taxonomy: Taxonomy
) -> None:
    e = make_entry(name="De Stappers", categories=["wandelen"], description="Na afloop koffie.")
    tokens = index_tokens(e, analyzer, taxonomy)
    assert tokens == sorted(set(tokens))
    assert {"stapper", "wandel", "koffie", "~wandelen", "~koffie"} <= set(tokens)
    # the adapter's $in pre-filter finds it for these queries
    for q in ["wandelen", "lopen", "stappers", "bewegen"]:
        assert set(analyzer.query_tokens(q)) & set(tokens), q


def test_version_changes_with_the_lexicon(analyzer: Analyzer) -> None:
    assert analyzer.version == Analyzer.for_taxonomy(default_taxonomy()).version
    assert Analyzer(["jeu de boules"]).version != Analyzer().version
