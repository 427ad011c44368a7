"""The voice check: is a draft written like the project's exemplars, and unlike its banned styles?

The voice score is the mean cosine similarity of the draft to its closest exemplars (up to
three), so one odd exemplar neither makes nor breaks a draft. A draft fails when that score is
under the threshold, or when some banned-style example is closer to it than the voice is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLOSEST = 3


@dataclass(frozen=True)
class VoiceVerdict:
    passed: bool
    detail: str
    score: float | None


def voice_verdict(draft: np.ndarray, exemplars: np.ndarray, avoid: np.ndarray, threshold: float) -> VoiceVerdict:
    if len(exemplars) == 0:
        return VoiceVerdict(True, "no voice exemplars in project memory to compare with", None)
    similarities = np.sort(exemplars @ draft)[::-1][:CLOSEST]
    voice = round(float(similarities.mean()), 3)
    closest_avoid = round(float((avoid @ draft).max()), 3) if len(avoid) else None
    if voice < threshold:
        return VoiceVerdict(False, f"off-voice: similarity {voice:.3f} to the voice exemplars is below "
                                   f"{threshold:.3f}; rewrite it closer to the exemplars", voice)
    if closest_avoid is not None and closest_avoid >= voice:
        return VoiceVerdict(False, f"off-voice: closer to a banned style ({closest_avoid:.3f}) than to the "
                                   f"voice exemplars ({voice:.3f}); rewrite it in the project's voice", voice)
    detail = f"similarity {voice:.3f} to the voice exemplars (threshold {threshold:.3f})"
    if closest_avoid is not None:
        detail += f"; closest banned style {closest_avoid:.3f}"
    return VoiceVerdict(True, detail, voice)
