"""Scoring: every factor, the exact-term boost and what counts as a telling term."""

from __future__ import annotations

import math

import pytest

from masthead.memory.scoring import (
    MAX_BOOST,
    NAME_BOOST,
    VERSION_BOOST,
    WORD_BOOST,
    age_days,
    boost_for,
    informative,
    kind_match,
    matched_terms,
    query_terms,
    recency,
    score,
)


def test_recency_halves_every_half_life_down_to_its_floor() -> None:
    assert recency(0, 30) == 1.0
    assert recency(30, 30) == pytest.approx(0.5)
    assert recency(60, 30) == pytest.approx(0.25)
    assert recency(30, 30, floor=0.5) == pytest.approx(0.75)
    assert recency(10_000, 30, floor=0.5) == pytest.approx(0.5)
    assert recency(-5, 30) == 1.0  # a clock a little behind the event's time


def test_age_is_measured_from_the_event_time() -> None:
    assert age_days("2026-01-01T00:00:00.000000Z", 1767225600.0 + 2 * 86_400) == pytest.approx(2.0)


def test_query_terms_pick_versions_names_and_content_words() -> None:
    terms = query_terms("What changed in Tallybook Mobile v2.0 and 3.1.4 for invoices?")
    assert terms.versions == {"2.0", "3.1.4"}
    assert terms.names == {"tallybook", "mobile"}
    assert "invoice" in terms.words and "what" not in terms.words and "changed" in terms.words


def test_versions_match_only_as_whole_version_tokens() -> None:
    terms = query_terms("Tallybook 3.1")
    assert "3.1" in matched_terms(terms, "Tallybook v3.1 is out")
    assert "3.1" not in matched_terms(terms, "Tallybook 3.10 is out")
    assert "3.1" not in matched_terms(terms, "Tallybook 13.1 is out")
    assert "3.1" not in matched_terms(terms, "Tallybook 3.1.2 is out")


def test_plural_and_singular_words_match() -> None:
    terms = query_terms("recurring invoices for students")
    assert set(matched_terms(terms, "A student can repeat an invoice")) == {"student", "invoice"}


def test_a_term_most_candidates_share_does_not_tell_them_apart() -> None:
    matches = [["tallybook", "3.1"], ["tallybook"], ["tallybook"], ["tallybook"]]
    assert informative(matches, max_share=0.5) == {"3.1"}
    assert informative([]) == set()


def test_boost_weights_each_kind_of_term_and_is_capped() -> None:
    terms = query_terms("Tallybook 3.1 payroll fees")
    assert boost_for(terms, ["3.1"]) == VERSION_BOOST
    assert boost_for(terms, ["tallybook"]) == NAME_BOOST
    assert boost_for(terms, ["fee"]) == WORD_BOOST
    assert boost_for(terms, ["3.1", "tallybook", "fee", "payroll"]) == MAX_BOOST


def test_kind_match_depends_on_the_asking_agent() -> None:
    assert kind_match("brief", "exemplar") < kind_match("brief", "fact")
    assert kind_match("draft", "exemplar") == 1.0
    assert kind_match("search", "piece") == 1.0  # an unknown role weighs every kind alike


def test_total_is_the_product_of_its_parts() -> None:
    terms = query_terms("Tallybook 3.2 bank feeds")
    parts = score(similarity=0.6, age=30, half_life_days=30, recency_floor=0.0, role="brief", kind="piece",
                  confidence=0.8, terms=terms, matched=["3.2"])
    assert (parts.similarity, parts.recency, parts.kind_match, parts.confidence, parts.boost) == (
        0.6, 0.5, 0.7, 0.8, VERSION_BOOST)
    assert parts.terms == ["3.2"]
    assert parts.total == pytest.approx(round(0.6 * 0.5 * 0.7 * 0.8 * (1 + VERSION_BOOST), 4))


def test_negative_similarity_counts_as_none() -> None:
    parts = score(similarity=-0.3, age=0, half_life_days=30, recency_floor=0.5, role="draft", kind="fact",
                  confidence=1.0, terms=query_terms("x"), matched=[])
    assert parts.similarity == 0.0 and parts.total == 0.0
    assert not math.isnan(parts.total)
