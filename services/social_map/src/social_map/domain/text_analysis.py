"""Dutch text analysis for our own token index (search uses no text index of the database).

Pipeline per word: lower-case → strip accents → split on non-alphanumerics → drop stopwords →
Snowball stem. On top of that:
- compounds: a word is split into known parts from a lexicon (base words + synonyms + the
  tenant's category labels/keywords), so "wandelgroep" is also indexed as "wandel" + "groep"
  and a search for "wandelen" (stem "wandel") finds it; linking -s-/-e- is allowed
  ("vrijwilliger-s-werk");
- synonyms: every stem that belongs to a synonym group also gets the group tag "~<group>",
  so "lopen" finds "wandelgroep".

Contract with the adapter: store `index_tokens(entry)` on the document as `tokens` (multikey
index) together with `tokens_version = analyzer.version`; query with
`{"tokens": {"$in": analyzer.query_tokens(text)}}` inside the bounding box, then score in Python
with `ranking.rank`. When `version` changes (stemmer, lexicon or synonyms changed, e.g. after a
taxonomy edit), reindex documents whose `tokens_version` differs.

Stemmer choice: snowballstemmer's "dutch_porter" (the classic Snowball Dutch algorithm, called
"dutch" before snowballstemmer 3). The 3.x "dutch" algorithm strips ge- prefixes aggressively
("gezondheid" → "zon", "geldzaken" → "ldzaak"), which merges unrelated words; we fall back to
"dutch" only if "dutch_porter" is unavailable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

import snowballstemmer  # type: ignore[import-untyped,unused-ignore]

if TYPE_CHECKING:
    from social_map.domain.taxonomy import Taxonomy

ANALYZER_VERSION = "nl-1"
SYNONYM_WEIGHT = 0.6
MIN_PART = 4  # shortest lexicon word used as a compound part
MIN_COMPOUND = 7  # shorter words are not split


def _wordlist(text: str) -> list[str]:
    return text.split()


STOPWORDS = frozenset(
    _wordlist(
        "de het een en of van in op te ten ter voor met aan bij om is zijn ben was waren ik je "
        "jij u wij we ze zij hij er dat die dit deze naar als ook tot uit door over maar niet nog "
        "wat waar wie hoe mijn uw ons onze jouw zich worden wordt werd kan kunnen heb hebt hebben "
        "heeft al dan zo elke iedere per even wel geen meer veel toch hier daar nu "
        "the a an and for of to with"
    )
)

#: First word names the group tag. Keep groups small and unambiguous.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("wandelen", "wandelgroep", "wandeling", "wandelclub", "lopen", "loopgroep"),
    ("koffie", "koffieochtend", "koffiemiddag", "inloop", "inloopochtend", "koffiedrinken"),
    ("schulden", "schuld", "schuldhulp", "geldzaken", "geldproblemen", "budget", "budgetcoach"),
    ("eenzaam", "eenzaamheid", "ontmoeting", "ontmoeten"),
    ("mantelzorg", "mantelzorger", "mantelzorgers", "respijtzorg"),
    ("taal", "taalles", "taalcafe", "nederlands", "taalmaatje"),
    ("digitaal", "digitale", "computer", "internet", "smartphone", "tablet", "digid"),
    ("opvoeding", "opvoeden", "opvoedingsondersteuning", "ouderschap"),
    ("vrijwilligerswerk", "vrijwilliger", "vrijwilligers"),
    ("bewegen", "beweging", "sport", "sporten", "gym", "beweegles"),
    ("eten", "maaltijd", "eettafel", "buurtmaaltijd"),
    ("rouw", "rouwverwerking", "verlies", "weduwe", "weduwnaar"),
)

#: Frequent compound parts that are not category words.
BASE_LEXICON = _wordlist(
    "groep club ochtend middag avond hulp werk zorg cafe huis buurt wijk centrum spreekuur "
    "cursus les training maatje coach punt winkel tuin keuken tafel kring uur loket beweeg "
    "senioren ouderen jongeren kinderen vrouwen mannen ouders gezin school bibliotheek "
    "inloop koffie geld schuld taal wandel fiets sport zwem dans muziek computer"
)

_SPLIT = re.compile(r"[^a-z0-9]+")


def _make_stemmer() -> snowballstemmer.stemmer:
    algos = set(snowballstemmer.algorithms())
    return snowballstemmer.stemmer("dutch_porter" if "dutch_porter" in algos else "dutch")


_STEMMER = _make_stemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    result: str = _STEMMER.stemWord(word)
    return result


def normalize(text: str) -> str:
    """Lower-case and strip accents ("café" → "cafe", "geïnteresseerd" → "geinteresseerd")."""
    lowered = text.lower()
    if lowered.isascii():  # NFKD leaves ASCII as it is and it has no combining marks
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Normalised words without stopwords and one-letter tokens, in text order."""
    return [w for w in _SPLIT.split(normalize(text)) if len(w) > 1 and w not in STOPWORDS]


class TextField(StrEnum):
    TITLE = "title"
    CATEGORY = "category"
    DESCRIPTION = "description"


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One query word and the index tokens that satisfy it, with a weight (1.0 = exact stem)."""

    word: str
    alternatives: dict[str, float]


class Analyzer:
    """Built once per tenant from its taxonomy words (cheap); pure and deterministic."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        lexicon: set[str] = set()
        for w in [*BASE_LEXICON, *(w for g in SYNONYM_GROUPS for w in g), *extra_words]:
            for part in words(w):
                for form in (part, stem(part)):
                    if len(form) >= MIN_PART:
                        lexicon.add(form)
        self._lexicon = frozenset(lexicon)
        tags: dict[str, set[str]] = {}
        for group in SYNONYM_GROUPS:
            tag = "~" + group[0]
            for phrase in group:
                for w in words(phrase):
                    tags.setdefault(stem(w), set()).add(tag)
        self._tags = {k: tuple(sorted(v)) for k, v in tags.items()}
        digest = hashlib.sha256()
        digest.update(f"{ANALYZER_VERSION}|{_STEMMER.__class__.__name__}|".encode())
        digest.update(" ".join(sorted(self._lexicon)).encode())
        digest.update(repr(sorted(self._tags.items())).encode())
        self.version = f"{ANALYZER_VERSION}-{digest.hexdigest()[:12]}"
        self._word_cache: dict[str, frozenset[str]] = {}

    @classmethod
    def for_taxonomy(cls, taxonomy: Taxonomy) -> Analyzer:
        """Lexicon extended with the tenant's category labels and keywords."""
        return cls(w for c in taxonomy.categories for w in taxonomy.search_words(c.code))

    # -- compounds -----------------------------------------------------------------------------

    def split_compound(self, word: str) -> list[str]:
        """Known parts of a compound word ([] if none): full segmentation, else known head/tail."""
        if len(word) < MIN_COMPOUND:
            return []
        full = self._segment(word)
        if full:
            return full
        parts: list[str] = []
        for i in range(len(word) - 3, MIN_PART - 1, -1):  # longest known prefix, not the word
            if word[:i] in self._lexicon:
                parts.append(word[:i])
                break
        for i in range(3, len(word) - MIN_PART + 1):  # longest known suffix
            if word[i:] in self._lexicon:
                parts.append(word[i:])
                break
        return parts

    def _segment(self, word: str) -> list[str]:
        n = len(word)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            current = best[i]
            if current is None:
                continue
            starts = [i]
            if i > 0 and word[i] in "se":  # linking morpheme after a part
                starts.append(i + 1)
            for s in starts:
                for j in range(s + MIN_PART, n + 1):
                    if (s, j) != (0, n) and word[s:j] in self._lexicon:
                        cand = [*current, word[s:j]]
                        prev = best[j]
                        if prev is None or len(cand) < len(prev):
                            best[j] = cand
        result = best[n]
        return result if result is not None and len(result) >= 2 else []

    # -- tokens ----------------------------------------------------------------------------------

    def word_tokens(self, word: str) -> set[str]:
        cached = self._word_cache.get(word)
        if cached is None:
            cached = self._word_cache[word] = frozenset(self._word_tokens(word))
            if len(self._word_cache) > 200_000:  # bound memory on odd inputs
                self._word_cache.clear()
        return set(cached)

    def _word_tokens(self, word: str) -> set[str]:
        parts = self.split_compound(word)
        nested = [
            q for p in parts for q in self.split_compound(p)
        ]  # "schuldhulp|maatje" → "schuld"
        stems = {stem(word)} | {stem(p) for p in [*parts, *nested]}
        out = set(stems)
        for s in stems:
            out.update(self._tags.get(s, ()))
        return out

    def text_tokens(self, text: str) -> set[str]:
        out: set[str] = set()
        for w in words(text):
            out |= self.word_tokens(w)
        return out

    def query_terms(self, text: str) -> list[QueryTerm]:
        """One term per distinct query word; exact stem weight 1, synonym tags SYNONYM_WEIGHT."""
        terms: list[QueryTerm] = []
        seen: set[str] = set()
        for w in words(text)[:12]:  # long pasted texts: the first 12 words decide
            s = stem(w)
            if s in seen:
                continue
            seen.add(s)
            alts = {s: 1.0}
            for tag in self._tags.get(s, ()):
                alts[tag] = SYNONYM_WEIGHT
            terms.append(QueryTerm(w, alts))
        return terms

    def query_tokens(self, text: str) -> list[str]:
        """Sorted union of all alternatives: the `$in` list for the pre-filter."""
        return sorted({t for term in self.query_terms(text) for t in term.alternatives})
