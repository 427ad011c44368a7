"""Thompson sampling against the fixed split on 200 seeded campaigns with known rates: it must
pick the best variant at least 90% of the time and spend fewer sends on losers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from masthead.runtime import ab

CAMPAIGNS = 200
LIST_SIZE = 20_000
BATCH = 500
TEST_SHARE = 0.2
MAX_TEST_SENDS = LIST_SIZE // 2  # the "deadline": Thompson stops testing after half the list
DRAWS = 4_000  # enough for a stopping rule at 0.95; the product uses 20,000


@dataclass
class Outcome:
    correct: bool
    loser_sends: int


def _rates(rng: np.random.Generator) -> list[float]:
    base = rng.uniform(0.15, 0.30)  # open rates of a newsletter
    lifts = [1.0, rng.uniform(1.05, 1.12), rng.uniform(1.25, 1.4)]
    order = rng.permutation(3)
    return [base * lifts[i] for i in order]


def _thompson(rates: list[float], rng: np.random.Generator, seed: str) -> Outcome:
    names = ["A", "B", "C"]
    sent, hits = [0, 0, 0], [0, 0, 0]
    winner = None
    while sum(sent) < MAX_TEST_SENDS:
        stats = ab.posterior_stats([ab.VariantCounts(n, s, h) for n, s, h in zip(names, sent, hits, strict=True)],
                                   seed, draws=DRAWS)
        top = ab.leader(stats)
        if top is not None:
            winner = names.index(top.variant)
            break
        for i, n in enumerate(ab.thompson_allocation(stats, BATCH).values()):
            sent[i] += n
            hits[i] += int(rng.binomial(n, rates[i]))
    if winner is None:
        stats = ab.posterior_stats([ab.VariantCounts(n, s, h) for n, s, h in zip(names, sent, hits, strict=True)],
                                   seed, draws=DRAWS)
        winner = names.index(max(stats, key=lambda s: s.p_best).variant)
    return _outcome(rates, sent, winner)


def _fixed(rates: list[float], rng: np.random.Generator) -> Outcome:
    quota = ab.fixed_split(["A", "B", "C"], LIST_SIZE, TEST_SHARE)
    sent = list(quota.values())
    hits = [int(rng.binomial(n, r)) for n, r in zip(sent, rates, strict=True)]
    best = ab.best_observed([ab.VariantCounts(v, s, h) for v, s, h in zip("ABC", sent, hits, strict=True)])
    assert best is not None
    return _outcome(rates, sent, "ABC".index(best.variant))


def _outcome(rates: list[float], sent: list[int], winner: int) -> Outcome:
    best = int(np.argmax(rates))
    rest = LIST_SIZE - sum(sent)  # the rest of the list gets the declared winner
    losers = sum(s for i, s in enumerate(sent) if i != best) + (rest if winner != best else 0)
    return Outcome(winner == best, losers)


def test_thompson_finds_the_best_variant_and_wastes_fewer_sends_than_a_fixed_split():
    thompson, fixed = [], []
    for campaign in range(CAMPAIGNS):
        rates = _rates(np.random.default_rng(campaign))
        thompson.append(_thompson(rates, np.random.default_rng(10_000 + campaign), f"campaign-{campaign}"))
        fixed.append(_fixed(rates, np.random.default_rng(10_000 + campaign)))
    picked_best = sum(o.correct for o in thompson) / CAMPAIGNS
    assert picked_best >= 0.90, picked_best
    assert sum(o.loser_sends for o in thompson) < sum(o.loser_sends for o in fixed)


def test_probability_of_being_best_is_reproducible_and_sums_to_one():
    counts = [ab.VariantCounts("A", 1000, 210), ab.VariantCounts("B", 1000, 260)]
    first, again = ab.posterior_stats(counts, "t1"), ab.posterior_stats(counts, "t1")
    assert first == again
    assert abs(sum(s.p_best for s in first) - 1.0) < 1e-9
    assert first[1].p_best > 0.99 and first[1].low < 0.26 < first[1].high


def test_thompson_allocation_splits_a_batch_exactly():
    stats = ab.posterior_stats([ab.VariantCounts("A", 100, 20), ab.VariantCounts("B", 100, 22),
                                ab.VariantCounts("C", 100, 21)], "t2")
    allocation = ab.thompson_allocation(stats, 500)
    assert sum(allocation.values()) == 500 and all(n > 0 for n in allocation.values())
