"""Selection among candidates: deterministic, and explained.

Candidates that fail a check are out. Among the rest the highest coverage of salient items wins,
then the voice score; on a tie the model's work (spliced, then model) is preferred over the
purely composed text, since with a capable model it reads better, and then the earlier candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from masthead.compose.candidates import Candidate, VoiceRules
from masthead.compose.items import Extraction
from masthead.compose.text import carries, word_set

SALIENT_TOP = 8  # coverage counts the signal's most salient items
_KIND_PREFERENCE = {"spliced": 0, "model": 1, "composed": 2, "thread": 3}  # on a tie one post beats a thread
_EMOJI = regex.compile(r"\p{Extended_Pictographic}")


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    failures: tuple[str, ...]  # "check: detail" of every failing check
    covered: tuple[int, ...]  # positions of the salient items it carries
    voice: float

    @property
    def passed(self) -> bool:
        return not self.failures

    def lineage(self) -> dict[str, object]:
        return {"kind": self.candidate.kind, "text": self.candidate.text, "subject": self.candidate.subject,
                "passed": self.passed, "failures": list(self.failures), "covered": list(self.covered),
                "coverage": len(self.covered), "voice": self.voice}


@dataclass(frozen=True)
class Selection:
    winner: int  # index into `scored`
    scored: tuple[Scored, ...]
    reason: str

    @property
    def chosen(self) -> Scored:
        return self.scored[self.winner]


def covered_items(text: str, extraction: Extraction, top: int = SALIENT_TOP) -> tuple[int, ...]:
    words = word_set(text)
    return tuple(item.position for item in extraction.ranked()[:top] if carries(words, item.text))


def voice_score(text: str, voice: VoiceRules, description: str = "") -> float:
    """The share of the voice's rules a text keeps (1.0 when it keeps all of them)."""
    rules = [voice.emoji or not _EMOJI.search(text)]
    rules += [tag.casefold() in text.casefold() for tag in voice.hashtags]
    if voice.sign_off:
        rules.append(voice.sign_off.strip() in text)
    if regex.search(r"no exclamation", description, regex.IGNORECASE):
        rules.append("!" not in text)
    return round(sum(rules) / len(rules), 3)


def select(scored: list[Scored]) -> Selection:
    """The winner among scored candidates (at least one)."""
    if not scored:
        raise ValueError("select() needs at least one candidate")
    order = sorted(range(len(scored)), key=lambda i: _rank(scored[i], i))
    winner = order[0]
    best = scored[winner]
    passing = sum(1 for s in scored if s.passed)
    if not best.passed:
        reason = f"no candidate passed every check; {best.candidate.kind} #{winner} failed least badly and goes on to refinement"
    else:
        runner = next((scored[i] for i in order[1:] if scored[i].passed), None)
        reason = f"{passing} of {len(scored)} candidates passed every check; {best.candidate.kind} #{winner} covers " \
                 f"{len(best.covered)} salient item(s) with voice {best.voice:g}"
        if runner is not None:
            reason += f" (next best: {runner.candidate.kind}, {len(runner.covered)} item(s), voice {runner.voice:g})"
    return Selection(winner=winner, scored=tuple(scored), reason=reason)


# A thread asks more of a reader than one post: it wins only when it says at least two more of
# the salient items (a second post holding one minor fix is not worth the click).
THREAD_COST = 1


def _rank(s: Scored, index: int) -> tuple[int, int, int, float, int, int]:
    coverage = len(s.covered) - (THREAD_COST if s.candidate.kind == "thread" else 0)
    return (0 if s.passed else 1, len(s.failures), -coverage, -s.voice,
            _KIND_PREFERENCE.get(s.candidate.kind, 9), index)
