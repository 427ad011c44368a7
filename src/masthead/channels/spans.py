"""Non-overlapping spans of a text, claimed first come first served.

Finders try candidates in priority order (a URL before the number inside it); each candidate
that overlaps an earlier claim is part of it and is dropped. Claims are kept sorted by start, so
a check costs a binary search instead of a scan: a 1 MB signal has tens of thousands of tokens.
"""

from __future__ import annotations

from bisect import bisect_right, insort


class ClaimedSpans:
    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []  # sorted, never overlapping

    def claim(self, start: int, end: int) -> bool:
        """Claim [start, end) unless it overlaps a claimed span; True when it was free."""
        index = bisect_right(self._spans, (start, end))
        before = self._spans[index - 1] if index > 0 else None
        after = self._spans[index] if index < len(self._spans) else None
        if (before is not None and before[1] > start) or (after is not None and after[0] < end):
            return False
        insort(self._spans, (start, end))
        return True
