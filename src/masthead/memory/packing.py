"""Context packing: the best-scoring items that fit each tier's token budget.

Tokens are estimated as one per four characters, the usual rule of thumb for English with
BPE tokenisers; the generation model's own tokenizer is not at hand here, and the estimate
only has to keep prompts inside the context window, not be exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from masthead.config import MemorySection


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def tier_budgets(settings: MemorySection) -> dict[str, int]:
    return {
        "session": settings.session_budget_tokens,
        "project": settings.project_budget_tokens,
        "global": settings.global_budget_tokens,
    }


@dataclass(frozen=True)
class Packable:
    tier: str
    tokens: int


P = TypeVar("P", bound=Packable)


def pack(ranked: Sequence[P], budgets: dict[str, int]) -> tuple[list[P], list[P]]:
    """Walk items best first; take each that still fits its tier's budget.

    A large item that does not fit does not stop smaller ones after it from being taken.
    Returns (taken, left out), both in the given order.
    """
    left = dict(budgets)
    taken: list[P] = []
    skipped: list[P] = []
    for item in ranked:
        if item.tokens <= left.get(item.tier, 0):
            left[item.tier] -= item.tokens
            taken.append(item)
        else:
            skipped.append(item)
    return taken, skipped
