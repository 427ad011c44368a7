"""The voice verdict: similarity to the exemplars, and to banned styles."""

from __future__ import annotations

import numpy as np

from masthead.memory.voice import voice_verdict


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


NONE = np.zeros((0, 3), dtype=np.float32)


def test_without_exemplars_there_is_nothing_to_fail() -> None:
    verdict = voice_verdict(unit(1, 0, 0), NONE, NONE, 0.3)
    assert verdict.passed and verdict.score is None and "no voice exemplars" in verdict.detail


def test_a_draft_near_its_exemplars_passes_with_its_score() -> None:
    exemplars = np.stack([unit(1, 0.1, 0), unit(1, 0, 0.1)])
    verdict = voice_verdict(unit(1, 0, 0), exemplars, NONE, 0.3)
    assert verdict.passed and verdict.score is not None and verdict.score > 0.9
    assert f"{verdict.score:.3f}" in verdict.detail and "threshold 0.300" in verdict.detail


def test_a_draft_far_from_its_exemplars_is_off_voice() -> None:
    verdict = voice_verdict(unit(0, 1, 0), np.stack([unit(1, 0, 0)]), NONE, 0.3)
    assert not verdict.passed
    assert verdict.detail.startswith("off-voice: similarity 0.000") and "below 0.300" in verdict.detail


def test_the_score_is_the_mean_of_the_three_closest_exemplars() -> None:
    exemplars = np.stack([unit(1, 0, 0), unit(1, 0, 0), unit(1, 0, 0), unit(0, 1, 0)])
    assert voice_verdict(unit(1, 0, 0), exemplars, NONE, 0.3).score == 1.0


def test_a_draft_closer_to_a_banned_style_fails() -> None:
    exemplars = np.stack([unit(1, 1, 0)])
    avoid = np.stack([unit(0, 1, 0)])
    verdict = voice_verdict(unit(0.2, 1, 0), exemplars, avoid, 0.3)
    assert not verdict.passed and "closer to a banned style" in verdict.detail
    fine = voice_verdict(unit(1, 0.8, 0), exemplars, avoid, 0.3)
    assert fine.passed and "closest banned style" in fine.detail
