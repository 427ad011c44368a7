"""A/B test statistics: Beta-Bernoulli posteriors, the probability that each variant is best,
Thompson batch allocation and the fixed (beehiiv-style) split. Pure functions of the counts.

Every variant starts from a uniform Beta(1, 1) prior; after `sent` sends with `hits` opens (or
clicks) its posterior is Beta(1 + hits, 1 + sent - hits). The probability that a variant is best
is estimated by drawing from every posterior at once and counting how often it has the largest
draw. The draws come from a generator seeded by the test's id and its counts, so the same
results always give the same numbers: `ab show` and a replay agree to the last digit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

DRAWS = 20_000  # Monte Carlo error of P(best) about 0.0035 at p = 0.5: well below any threshold used
STOP_PROBABILITY = 0.95


@dataclass(frozen=True)
class VariantCounts:
    variant: str
    sent: int
    hits: int  # opens or clicks, whichever the test's metric is


@dataclass(frozen=True)
class VariantStats:
    variant: str
    sent: int
    hits: int
    mean: float  # posterior mean of the rate
    low: float  # 95% credible interval
    high: float
    p_best: float


def _rng(seed_text: str, counts: list[VariantCounts]) -> np.random.Generator:
    material = seed_text + "|" + ";".join(f"{c.variant}:{c.sent}:{c.hits}" for c in counts)
    return np.random.default_rng(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big"))


def posterior_stats(counts: list[VariantCounts], seed_text: str, draws: int = DRAWS) -> list[VariantStats]:
    """Posterior mean, 95% interval and probability of being best for every variant."""
    if not counts:
        return []
    rng = _rng(seed_text, counts)
    alpha = np.array([1 + c.hits for c in counts], dtype=float)
    beta = np.array([1 + c.sent - c.hits for c in counts], dtype=float)
    sample = rng.beta(alpha, beta, size=(draws, len(counts)))
    best = _share_ties(counts, np.bincount(sample.argmax(axis=1), minlength=len(counts)) / draws)
    low, high = np.quantile(sample, [0.025, 0.975], axis=0)
    return [VariantStats(c.variant, c.sent, c.hits, float(alpha[i] / (alpha[i] + beta[i])), float(low[i]),
                         float(high[i]), float(best[i])) for i, c in enumerate(counts)]


def _share_ties(counts: list[VariantCounts], best: np.ndarray) -> np.ndarray:
    """Variants with the same counts have the same posterior, so the same chance of being best:
    average their estimates, so that no data at all splits the first batch exactly evenly."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(counts):
        groups.setdefault((c.sent, c.hits), []).append(i)
    for members in groups.values():
        best[members] = best[members].mean()
    return best


def thompson_allocation(stats: list[VariantStats], batch: int) -> dict[str, int]:
    """The next batch split by each variant's probability of being best (whole sends, adding
    up to `batch`; the remainder goes to the largest fractional parts)."""
    if not stats or batch <= 0:
        return {s.variant: 0 for s in stats}
    shares = [s.p_best * batch for s in stats]
    whole = [int(share) for share in shares]
    by_fraction = sorted(range(len(stats)), key=lambda i: (shares[i] - whole[i], stats[i].p_best), reverse=True)
    for i in by_fraction[: batch - sum(whole)]:
        whole[i] += 1
    return {s.variant: n for s, n in zip(stats, whole, strict=True)}


def leader(stats: list[VariantStats]) -> VariantStats | None:
    """The variant most likely to be best, if it has reached the stopping probability."""
    if not stats:
        return None
    top = max(stats, key=lambda s: (s.p_best, s.mean))
    return top if top.p_best >= STOP_PROBABILITY else None


def fixed_split(variants: list[str], list_size: int, test_share: float) -> dict[str, int]:
    """beehiiv-style: `test_share` of the list split evenly between the variants."""
    each = int(list_size * test_share) // max(1, len(variants))
    return {v: each for v in variants}


def best_observed(counts: list[VariantCounts]) -> VariantCounts | None:
    """The fixed method's winner: the highest observed rate (ties: the earlier variant)."""
    sent = [c for c in counts if c.sent > 0]
    return max(sent, key=lambda c: c.hits / c.sent) if sent else None
