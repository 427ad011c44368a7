"""Turning a file's bytes into text, with errors a person can act on (shared by every reader
of user files: signals, projects, recipes, edits, memory imports)."""

from __future__ import annotations

from masthead.errors import InputError


def decode_text(raw: bytes, label: str, *, fix_suffix: str = "") -> str:
    """UTF-8 text, or an InputError naming `label`; binary files (NUL bytes) are refused."""
    if b"\x00" in raw:
        raise InputError(f"{label} is binary, not text", fix=f"pass a UTF-8 text file{fix_suffix}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 text (byte {exc.start})",
                         fix=f"convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8){fix_suffix}") from None
