"""Read a folder of .md and .txt files into memory-sized chunks, refusing bad files up front.

Every file is read and checked before anything is recorded: one file that is not UTF-8 text,
is empty or is too large stops the import with its name, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from masthead.document_input import DOCUMENT_SUFFIXES, read_request_file
from masthead.errors import InputError, NotFoundError
from masthead.memory.chunking import chunk_text
from masthead.text_input import decode_text, read_capped

SUFFIXES = (".md", ".txt")
MAX_FILE_BYTES = 50_000_000

FileProgress = Callable[[Path, int, int], None]  # (file, its size in bytes, chunks made)


@dataclass(frozen=True)
class FileChunks:
    path: Path
    relative: str
    chunks: list[str]


def text_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise NotFoundError(f"folder {folder} does not exist", fix="check the path")
    if not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder", fix="pass the folder that holds the .md and .txt files")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise InputError(f"folder {folder} has no .md or .txt files", fix="pass a folder with .md or .txt files in it")
    return files


def read_paths(paths: list[Path], progress: FileProgress | None = None) -> list[FileChunks]:
    """The chunks of every file named, and of every .md/.txt file in every folder named."""
    if not paths:
        raise InputError("no file or folder given", fix="name the files (or a folder) to import")
    found: list[FileChunks] = []
    for path in paths:
        if path.is_dir():
            found += read_chunks(path, progress)
        elif not path.exists():
            raise NotFoundError(f"{path} does not exist", fix="check the path")
        elif path.suffix.lower() in DOCUMENT_SUFFIXES:
            text = read_request_file(path, MAX_FILE_BYTES, option="FILE")  # a past proposal as PDF or DOCX
            found.append(FileChunks(path, path.name, chunk_text(text)))
            if progress is not None:
                progress(path, path.stat().st_size, len(found[-1].chunks))
        elif path.suffix.lower() not in SUFFIXES:
            raise InputError(f"{path} is not a .md, .txt, .pdf or .docx file",
                             fix="convert it to Markdown or plain text first")
        else:
            found += _read_files([path], path.parent, progress)
    return found


def read_chunks(folder: Path, progress: FileProgress | None = None) -> list[FileChunks]:
    return _read_files(text_files(folder), folder, progress)


def _read_files(paths: list[Path], folder: Path, progress: FileProgress | None) -> list[FileChunks]:
    found = []
    for path in paths:
        raw = read_capped(path, str(path), MAX_FILE_BYTES, allow_stdin=False)
        size = len(raw)
        text = decode_text(raw, str(path), fix_suffix=", or move it out of the folder")
        chunks = chunk_text(text)
        if not chunks:
            raise InputError(f"{path} is empty", fix="add some text to it or move it out of the folder")
        found.append(FileChunks(path, path.relative_to(folder).as_posix(), chunks))
        if progress is not None:
            progress(path, size, len(chunks))
    return found
