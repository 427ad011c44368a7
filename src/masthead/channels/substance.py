"""The substance check: a piece must say something concrete from its signal.

Limits, grounding and tone say nothing *wrong* ships; this says something ships at all. A piece
passes when it carries at least one item of its signal (matched on normalised words, never on
the title), is more than the title or a heading, and reaches the channel's minimum length
(unless the whole signal is shorter than that).
"""

from __future__ import annotations

from masthead.channels.checks import CheckResult
from masthead.channels.limits import grapheme_length
from masthead.compose.items import Extraction
from masthead.compose.text import carries, normalise, word_set

SHORT_SIGNAL_SHARE = 0.8
DEFAULT_MIN_CHARS = {"x": 80, "bluesky": 80, "mastodon": 80, "linkedin": 300, "newsletter": 300, "email": 200,
                     "proposal": 800}


def substance_check(channel: str, text: str, extraction: Extraction, *, signal_text: str,
                    min_chars: int | None = None) -> CheckResult:
    if not extraction.items:
        return CheckResult("substance", False, "nothing concrete to say: the signal has no item to write about "
                                               "(a person should write this piece or drop it)")
    body = normalise(text)
    bare = {normalise(h) for h in (extraction.title or "", *extraction.headings) if h}
    if not body or body in bare:
        return CheckResult("substance", False, "the piece is only the signal's title or a heading; "
                                               "say what changed (name at least one item)")
    words = word_set(text)
    carried = [item for item in extraction.items if carries(words, item.text)]
    if not carried:
        top = extraction.ranked()[0].short
        return CheckResult("substance", False, f'the piece names none of the signal\'s items; add one, e.g. "{top}"')
    wanted = DEFAULT_MIN_CHARS.get(channel, 0) if min_chars is None else min_chars
    # A signal shorter than the minimum cannot fill it; its markup ("# ", "- ") and line breaks
    # do not have to be said again, hence a fifth of slack.
    wanted = min(wanted, int(SHORT_SIGNAL_SHARE * grapheme_length(signal_text.strip())))
    length = grapheme_length(text.strip())
    if length < wanted:
        return CheckResult("substance", False, f"{length} characters, under the {channel} minimum of {wanted}; "
                                               "add another item or a sentence on why it matters")
    return CheckResult("substance", True, f"carries {len(carried)} of the signal's {len(extraction.items)} items")
