"""`import` of a folder of .md/.txt files: chunking, progress, idempotence, and files that are
refused before anything is written."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV
from tests.support.memory import event_count, loopback_embedder_toml, memory_workspace
from tests.support.openai_server import OpenAIServer

from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError
from masthead.memory.chunking import CHUNK_CHARS

WORDS = ("invoice", "client", "payment", "reminder", "bank", "feed", "recurring", "quote", "expense", "receipt",
         "tax", "report", "export", "currency", "template", "portal", "studio", "freelancer", "project",
         "deadline", "retainer", "deposit", "credit")


@pytest.fixture
def ws(tmp_path: Path):
    workspace = memory_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def loopback_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The loopback server's fake vectors: the 10 MB file needs the plumbing, not the meaning."""
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test") as server:
        workspace = memory_workspace(tmp_path / "ws", loopback_embedder_toml(server.base_url))
        yield workspace
        workspace.close()


def notes_folder(root: Path) -> Path:
    folder = root / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "launch.md").write_text("# Launch\n\nThe 3.2 launch post goes out on Tuesday.\n")
    (folder / "tone.txt").write_text("No exclamation marks. Calm is the brand.\n")
    (folder / "sub" / "audience.md").write_text("German freelancers are 40% of our customers.\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # not .md/.txt: ignored
    (folder / ".drafts").mkdir()
    (folder / ".drafts" / "hidden.md").write_text("Hidden folders are skipped.")
    return folder


def test_a_folder_becomes_items_once(ws: Workspace, tmp_path: Path) -> None:
    folder = notes_folder(tmp_path)
    read: list[str] = []
    result = ws.memory.import_folder(folder, project="tallybook", actor="human:ana",
                                     on_file=lambda path, size, chunks: read.append(path.name))
    assert (result.files, result.chunks, result.added, result.already) == (3, 3, 3, 0)
    assert sorted(read) == ["audience.md", "launch.md", "tone.txt"]
    sources = sorted(i.source for i in ws.memory.list_items(project="tallybook", kind="note"))
    assert sources == ["file:launch.md", "file:sub/audience.md", "file:tone.txt"]
    hits = ws.memory.rank("When does the launch post go out?", project="tallybook").ranked
    assert hits[0].item.source == "file:launch.md"
    before = event_count(ws)
    again = ws.memory.import_folder(folder, project="tallybook", actor="human:ana")
    assert (again.added, again.already) == (0, 3) and event_count(ws) == before


@pytest.mark.parametrize(("name", "content", "message"), [
    ("latin1.txt", "Café crème".encode("latin-1"), "is not UTF-8 text"),
    ("empty.md", b"   \n\n", "is empty"),
    ("binary.md", b"text\x00more", "is binary"),
])
def test_one_bad_file_stops_the_import_and_nothing_is_written(ws: Workspace, tmp_path: Path, name: str,
                                                              content: bytes, message: str) -> None:
    folder = notes_folder(tmp_path)
    (folder / name).write_bytes(content)
    before = event_count(ws)
    with pytest.raises(InputError, match=message) as caught:
        ws.memory.import_folder(folder, project="tallybook", actor="human:ana")
    assert name in str(caught.value) and caught.value.fix
    assert event_count(ws) == before


def test_a_missing_or_empty_folder_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        ws.memory.import_folder(tmp_path / "nope", project="tallybook", actor="human:ana")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \.md or \.txt files"):
        ws.memory.import_folder(tmp_path / "empty", project="tallybook", actor="human:ana")
    with pytest.raises(NotFoundError, match="project 'nope'"):
        ws.memory.import_folder(notes_folder(tmp_path), project="nope", actor="human:ana")


def test_a_ten_megabyte_file_is_chunked_with_progress(loopback_ws: Workspace, tmp_path: Path) -> None:
    rng = random.Random(4)
    paragraphs = []
    size = 0
    while size < 10_000_000:
        paragraph = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "."
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "archive.md").write_text("\n\n".join(paragraphs))
    files: list[tuple[str, int, int]] = []
    embedded: list[tuple[int, int]] = []
    result = loopback_ws.memory.import_folder(
        folder, project="tallybook", actor="human:ana",
        on_file=lambda path, size, chunks: files.append((path.name, size, chunks)),
        on_embed=lambda done, total: embedded.append((done, total)))
    assert result.files == 1 and result.chunks >= 10_000_000 // CHUNK_CHARS
    assert files == [("archive.md", (folder / "archive.md").stat().st_size, result.chunks)]
    # Everything not yet embedded: the new chunks and the project's own exemplar and fact.
    assert len(embedded) > 10 and embedded[-1] == (result.added + 2, result.added + 2)
    assert [done for done, _ in embedded] == sorted(done for done, _ in embedded)
    sources = {r["source"] for r in loopback_ws.store.query("SELECT source FROM memory_items WHERE kind = 'note'")}
    assert "file:archive.md#1" in sources and f"file:archive.md#{result.chunks}" in sources
