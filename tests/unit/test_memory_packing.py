"""Context packing under a token budget per tier."""

from __future__ import annotations

from masthead.config import MemorySection
from masthead.memory.packing import Packable, estimate_tokens, pack, tier_budgets


def test_tokens_are_estimated_at_four_characters_each() -> None:
    assert estimate_tokens("") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_each_tier_has_its_own_budget() -> None:
    ranked = [Packable("project", 300), Packable("global", 100), Packable("project", 200), Packable("global", 100)]
    taken, left = pack(ranked, {"project": 400, "global": 150, "session": 0})
    assert taken == [ranked[0], ranked[1]]
    assert left == [ranked[2], ranked[3]]


def test_a_big_item_does_not_stop_smaller_ones_after_it() -> None:
    ranked = [Packable("project", 50), Packable("project", 500), Packable("project", 60)]
    taken, left = pack(ranked, {"project": 120})
    assert taken == [ranked[0], ranked[2]] and left == [ranked[1]]


def test_budgets_come_from_the_memory_section() -> None:
    settings = MemorySection(session_budget_tokens=1, project_budget_tokens=2, global_budget_tokens=3)
    assert tier_budgets(settings) == {"session": 1, "project": 2, "global": 3}
    assert pack([Packable("session", 5)], tier_budgets(settings)) == ([], [Packable("session", 5)])
