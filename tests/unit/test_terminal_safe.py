"""Text from signals, models and people is shown escaped on a terminal, never acted on."""

from __future__ import annotations

import json

import pytest

from masthead.cli.common import terminal_safe
from masthead.cli.main import error_lines
from masthead.errors import InputError

TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"


@pytest.mark.parametrize(("raw", "shown"), [
    (TITLE_AND_CLEAR, "\\x1b]0;pwned\\x07\\x1b[2J"),
    ("bell\x07 backspace\x08 cr\r nul\x00", "bell\\x07 backspace\\x08 cr\\x0d nul\\x00"),
    ("del\x7f", "del\\u007f"),
    ("csi\x9b31m nel\x85", "csi\\u009b31m nel\\u0085"),
    ("invoice\u202egpj.exe", "invoice\\u202egpj.exe"),
    ("\u2066isolate\u2069 \u200emark\u200f \u061c", "\\u2066isolate\\u2069 \\u200emark\\u200f \\u061c"),
    ("line one\n\tline two", "line one\n\tline two"),
    ("windows\r\nline", "windows\nline"),
    ("Café — 35% faster ✓ 日本", "Café — 35% faster ✓ 日本"),
], ids=["osc-and-csi", "c0", "del", "c1", "bidi-override", "bidi-isolates", "newline-tab", "crlf", "plain-unicode"])
def test_terminal_safe(raw, shown):
    assert terminal_safe(raw) == shown


def test_every_control_and_bidi_character_is_escaped():
    controls = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0x200E, 0x200F, *range(0x202A, 0x202F),
                                 *range(0x2066, 0x206A), 0x061C) if chr(c) not in "\n\t"]
    shown = terminal_safe("".join(controls))
    assert not any(ch in shown for ch in controls)
    assert shown.isascii()


def test_escapes_in_json_stay_valid_json_with_the_same_value():
    """A JSON document with bidi or C1 characters in its strings, passed through, parses to the same value."""
    value = {"text": "a\u202eb\x85c\x7f"}
    document = json.dumps(value, ensure_ascii=False)
    assert json.loads(terminal_safe(document)) == value


def test_error_lines_are_escaped():
    lines = error_lines(InputError(f"line 3 of the file says {TITLE_AND_CLEAR}", fix="remove it"))
    assert lines == ["error: line 3 of the file says \\x1b]0;pwned\\x07\\x1b[2J (fix: remove it)"]
