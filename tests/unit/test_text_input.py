"""The capped reader every user file goes through: regular files only, never past the limit."""

from __future__ import annotations

import io
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.errors import InputError, NotFoundError
from masthead.text_input import read_capped, read_text_file


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A read that waits (a FIFO opened without O_NONBLOCK) fails the test instead of hanging it."""
    def give_up(_signum: int, _frame: object) -> None:
        raise TimeoutError("the read blocked")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_file_at_the_limit_is_read_whole(tmp_path):
    (tmp_path / "ten.txt").write_bytes(b"x" * 10)
    assert read_capped(tmp_path / "ten.txt", "ten", 10) == b"x" * 10


def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path):
    (tmp_path / "eleven.txt").write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="eleven is 11 bytes; the limit is 10"):
        read_capped(tmp_path / "eleven.txt", "eleven", 10)


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_devices_are_refused(path, kind):
    with pytest.raises(InputError, match=f"is {kind}, not a regular file.*up to 1,000 bytes"):
        read_capped(Path(path), path, 1000)


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match=r"named pipe \(FIFO\)") as raised:
        read_capped(tmp_path / "pipe", "pipe", 1000)
    assert "pass `-`" in str(raised.value)


def test_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_capped(tmp_path, "folder", 1000)
    with pytest.raises(NotFoundError, match="does not exist"):
        read_capped(tmp_path / "gone", "gone", 1000)


def test_standard_input_is_capped(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"y" * 5000)))
    with pytest.raises(InputError, match="more than 1,000 bytes"):
        read_capped(Path("-"), "stdin", 1000)


def test_read_text_file_names_the_option(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("Café\n".encode())))
    assert read_text_file(Path("-"), "signal", 100, option="--file") == "Café\n"
    with pytest.raises(InputError, match=r"^signal file /dev/zero \(from --file\) is a character device"):
        read_text_file(Path("/dev/zero"), "signal", 100, option="--file")
