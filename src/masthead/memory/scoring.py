"""How much one memory item is worth to one asker, with every factor kept for the record.

    total = similarity x recency x kind_match x confidence x (1 + boost)

- similarity: cosine of the query and item vectors, negative values taken as 0;
- recency: floor + (1 - floor) x 0.5 ** (age_days / half_life_days[kind]), so each kind ages
  at its own pace (a voice exemplar barely ages, a published piece about an old release does)
  and an old item still counts for at least `floor`;
- kind_match: how useful this kind is to the asking agent (a brief wants facts and notes,
  a draft wants exemplars and the operator's edits as much as facts);
- confidence: the item's own, 0 to 1;
- boost: exact terms of the query found in the item: versions (0.5 each), product names (0.2)
  and other content words (0.3 each), at most 1.0 in all, so an exact match can double a score. A sentence embedding barely tells "3.1"
  from "3.2", and a rare name can outweigh the rest of a short query. Only terms that tell the
  candidates apart count: a word most candidates contain (the product's own name in its own
  project's memory) says nothing about which one is meant.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from masthead.events.memory_types import ScoreParts

# Kinds an agent role finds useful; a role not listed (e.g. `search`) weighs every kind 1.0.
ROLE_KIND_WEIGHTS: dict[str, dict[str, float]] = {
    # Posts have no use for past proposals (another client's wording and prices).
    "brief": {"fact": 1.0, "note": 1.0, "meta_note": 1.0, "piece": 0.7, "feedback": 0.6, "exemplar": 0.4, "proposal": 0.0},
    "draft": {"fact": 1.0, "exemplar": 1.0, "feedback": 1.0, "piece": 0.9, "note": 0.9, "meta_note": 0.9, "proposal": 0.0},
    # A/B results are feedback: what won and lost with this audience.
    "subject_lines": {"feedback": 1.0, "exemplar": 0.8, "fact": 0.7, "piece": 0.6, "note": 0.6, "meta_note": 0.6, "proposal": 0.0},
    "refine": {"feedback": 1.0, "fact": 1.0, "exemplar": 0.9, "note": 0.8, "meta_note": 0.8, "piece": 0.7, "proposal": 0.0},
    # A proposal draws on past proposals (won ones first: their confidence is higher), then notes.
    "proposal": {"proposal": 1.0, "note": 0.7, "fact": 0.7, "feedback": 0.6, "exemplar": 0.5, "piece": 0.3,
                 "meta_note": 0.5},
}

VERSION_BOOST = 1.0
NAME_BOOST = 0.2
WORD_BOOST = 0.3
MAX_BOOST = 1.5

_VERSION = re.compile(r"(?<![\w.])[vV]?(\d+(?:\.\d+)+)(?![\w.]*\d)")
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Common words: never names, never telling keywords.
_COMMON = frozenset((
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "at", "be", "been", "before",
    "being", "but", "by", "can", "could", "did", "do", "does", "doing", "each", "every", "find",
    "for", "from", "get", "give", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "just", "know", "like", "list", "make", "many", "may", "more", "most", "much", "must",
    "need", "new", "not", "now", "of", "on", "one", "only", "or", "other", "our", "out", "over",
    "please", "same", "say", "should", "show", "so", "some", "such", "tell", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "use",
    "used", "using", "very", "want", "was", "way", "we", "well", "were", "what", "when", "where",
    "which", "while", "who", "why", "will", "with", "would", "you", "your",
))


@dataclass(frozen=True)
class QueryTerms:
    versions: frozenset[str]
    names: frozenset[str]  # lower-cased
    words: frozenset[str]  # other content words, in `_stem` form


def _stem(word: str) -> str:
    """Lower case, and plurals folded onto their singular ("invoices" finds "invoice")."""
    word = word.lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def query_terms(query: str) -> QueryTerms:
    versions = frozenset(m.group(1) for m in _VERSION.finditer(query))
    names = frozenset(word.lower() for word in _NAME.findall(query) if word.lower() not in _COMMON and len(word) >= 3)
    words = frozenset(_stem(word) for word in _WORD.findall(query)
                      if len(word) >= 4 and word.lower() not in _COMMON and word.lower() not in names)
    return QueryTerms(versions, names, words)


@dataclass(frozen=True)
class TextTerms:
    versions: frozenset[str]
    lowered: frozenset[str]
    stems: frozenset[str]


@lru_cache(maxsize=65_536)
def text_terms(text: str) -> TextTerms:
    """What a text states, once per text: every retrieval looks at up to 200 candidates."""
    tokens = _WORD.findall(text)
    return TextTerms(frozenset(m.group(1) for m in _VERSION.finditer(text)),
                     frozenset(t.lower() for t in tokens), frozenset(_stem(t) for t in tokens))


def matched_terms(terms: QueryTerms, text: str) -> list[str]:
    """The query's versions, names and content words that `text` states."""
    stated = text_terms(text)
    return sorted(terms.versions & stated.versions) + sorted(terms.names & stated.lowered) + sorted(
        terms.words & stated.stems)


def informative(matches: list[list[str]], max_share: float = 0.3) -> set[str]:
    """Terms that tell candidates apart. A term in more than `max_share` of the nearest items
    (the product's own name in its own project's memory) says nothing about which one is meant."""
    if not matches:
        return set()
    counts: dict[str, int] = {}
    for found in matches:
        for term in set(found):
            counts[term] = counts.get(term, 0) + 1
    return {term for term, count in counts.items() if count <= max_share * len(matches)}


def boost_for(terms: QueryTerms, matched: list[str]) -> float:
    weights = [VERSION_BOOST if t in terms.versions else NAME_BOOST if t in terms.names else WORD_BOOST
               for t in matched]
    return min(MAX_BOOST, sum(weights))


def recency(age_days: float, half_life_days: float, floor: float = 0.0) -> float:
    """Halves every half-life, but never below `floor`: age breaks ties between similar items;
    it must not bury an old item that is the only one to answer."""
    return floor + (1.0 - floor) * 0.5 ** (max(0.0, age_days) / half_life_days)


def kind_match(role: str, kind: str) -> float:
    return ROLE_KIND_WEIGHTS.get(role, {}).get(kind, 1.0)


def age_days(created_at: str, now: float) -> float:
    created = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    return (now - created) / 86_400.0


def score(*, similarity: float, age: float, half_life_days: float, recency_floor: float, role: str, kind: str,
          confidence: float, terms: QueryTerms, matched: list[str]) -> ScoreParts:
    parts = {
        "similarity": max(0.0, similarity),
        "recency": recency(age, half_life_days, recency_floor),
        "kind_match": kind_match(role, kind),
        "confidence": confidence,
        "boost": boost_for(terms, matched),
    }
    total = math.prod(parts[name] for name in ("similarity", "recency", "kind_match", "confidence"))
    total *= 1.0 + parts["boost"]
    # Rounded so the recorded parts read well and compare equal across runs.
    rounded = {name: round(value, 4) for name, value in parts.items()}
    return ScoreParts(**rounded, terms=matched, total=round(total, 4))
