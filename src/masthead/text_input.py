"""Reading a user's file into text, with a hard byte cap and errors a person can act on (shared
by every reader of user files: signals, projects, recipes, edits, completions, memory imports).

The cap holds whatever the path names: `st_size` is 0 for devices and pipes, so the size check
alone would let `/dev/zero` fill memory, and opening a FIFO that has no writer blocks forever.
Only regular files (and standard input, as `-`) are read, and never more than the limit + 1 bytes.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from masthead.errors import InputError, NotFoundError

STDIN = "-"
CHUNK = 1 << 16

# What a path that is not a regular file turned out to be, for the error message.
_FILE_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def decode_text(raw: bytes, label: str, *, fix_suffix: str = "") -> str:
    """UTF-8 text, or an InputError naming `label`; binary files (NUL bytes) are refused."""
    if b"\x00" in raw:
        raise InputError(f"{label} is binary, not text", fix=f"pass a UTF-8 text file{fix_suffix}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 text (byte {exc.start})",
                         fix=f"convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8){fix_suffix}") from None


def read_capped(path: Path, label: str, max_bytes: int, *, allow_stdin: bool = True) -> bytes:
    """The bytes of a regular file (or of standard input for `-`), at most `max_bytes` of them;
    anything else, or anything longer, is an InputError naming `label` and the limit."""
    if allow_stdin and str(path) == STDIN:
        return _bounded_read(sys.stdin.buffer.read, label, max_bytes)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one;
        # fstat on the open descriptor then sees what was opened (no check-then-open race).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise NotFoundError(f"{label} does not exist", fix="check the path") from None
    except OSError as exc:
        raise InputError(f"{label} cannot be read ({exc.strerror})", fix="check the path and its permissions") from None
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        raise _not_regular(status.st_mode, label, max_bytes, allow_stdin)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if status.st_size > max_bytes:
            raise InputError(f"{label} is {status.st_size:,} bytes; the limit is {max_bytes:,}",
                             fix="split it or pass an excerpt")
        return _bounded_read(handle.read, label, max_bytes)  # the file may have grown since fstat


def _not_regular(mode: int, label: str, max_bytes: int, allow_stdin: bool) -> InputError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
    if stat.S_ISDIR(mode):
        return InputError(f"{label} is a folder", fix="pass a file")
    if allow_stdin:
        fix = f"save the text to a regular file first, or pipe it in and pass `{STDIN}`"
    else:
        fix = "save the text to a regular file first"
    return InputError(f"{label} is {kind}, not a regular file; only regular files are read, up to {max_bytes:,} bytes",
                      fix=fix)


def _bounded_read(read: Callable[[int], bytes | None], label: str, max_bytes: int) -> bytes:
    """Read until end of input or until one byte past the limit, whichever comes first."""
    parts: list[bytes] = []
    total = 0
    while total <= max_bytes:
        part = read(min(CHUNK, max_bytes + 1 - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    if total > max_bytes:
        raise InputError(f"{label} is more than {max_bytes:,} bytes, the limit", fix="split it or pass an excerpt")
    return b"".join(parts)


def read_text_file(path: Path, what: str, max_bytes: int, *, option: str | None = None) -> str:
    """A user's UTF-8 text file (or `-` for standard input), capped at `max_bytes`.

    `what` names the content ("signal", "recipe"), `option` the CLI option or argument that gave
    the path ("--file"), so that every error says which input was wrong."""
    source = f"{what} from standard input" if str(path) == STDIN else f"{what} file {path}"
    label = source + (f" (from {option})" if option else "")
    text = decode_text(read_capped(path, label, max_bytes), label)
    if not text.strip():
        raise InputError(f"{label} is empty", fix="pass a file with some text in it")
    return text
