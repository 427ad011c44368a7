"""The outbox: intent, delivery with an idempotency key, confirmation; exactly one delivery."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

from masthead.channels.file_publisher import FilePublisher
from masthead.channels.publisher import Delivery
from masthead.projections.replay import verify


class ProcessDied(BaseException):
    """Stands for the process dying: BaseException, so no handler in the worker catches it."""


class DiesAfterWriting(FilePublisher):
    def deliver(self, delivery: Delivery) -> str:
        super().deliver(delivery)
        raise ProcessDied


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        workspace = make_workspace(tmp_path / "ws", server.base_url)
        yield workspace
        workspace.close()


def test_crash_between_delivery_and_confirmation_ends_in_one_file(ws):
    job = add_release_notes(ws)
    services = ws.services()
    services.publishers["file"] = DiesAfterWriting(ws.out_dir)
    from masthead.runtime.worker import Worker

    worker = Worker(ws.store, services, "test:1:0", lease_seconds=0.01, backoff_base=0, backoff_max=0)
    # Run tasks until the first publish dies after writing its file.
    with pytest.raises(ProcessDied):
        while True:
            task = worker.claim()
            assert task is not None, "ran out of tasks before any publish"
            worker.run(task)
    requested = ws.store.query("SELECT * FROM publications")
    assert [p["status"] for p in requested] == ["requested"]
    assert len(list(ws.out_dir.rglob("*.md"))) == 1
    # "Restart": a normal runner picks the task up after its lease, delivers again (a no-op).
    ws.runner().run(until_idle=True)
    publications = ws.store.query("SELECT * FROM publications ORDER BY channel")
    assert [(p["channel"], p["status"]) for p in publications] == [("linkedin", "delivered"), ("x", "delivered")]
    assert len(list(ws.out_dir.rglob("*.md"))) == 2
    delivered = [e for e in ws.store.read() if e.type == "PublicationDelivered"]
    assert len(delivered) == 2
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "running"  # newsletter waits
    assert verify(ws.store).ok


def test_file_publisher_is_idempotent_per_key(tmp_path):
    publisher = FilePublisher(tmp_path)
    delivery = Delivery(key="pc-1:v1:x", piece_id="pc-1", version=1, channel="x", project="p",
                        text="hello", subject=None, at="2026-01-01T00:00:00Z")
    first = publisher.deliver(delivery)
    stamp = Path(first).stat().st_mtime_ns
    assert publisher.deliver(delivery) == first
    assert Path(first).stat().st_mtime_ns == stamp
    assert Path(first).read_text().endswith("---\n\nhello\n")


def test_a_dead_writers_temporary_file_is_removed_by_the_next_delivery(tmp_path):
    import subprocess
    import sys

    from masthead.channels.file_publisher import _temp_prefix

    publisher = FilePublisher(tmp_path)
    delivery = Delivery(key="pc-2:v1:x", piece_id="pc-2", version=1, channel="x", project="p",
                        text="hello", subject=None, at="2026-01-01T00:00:00Z")
    target = publisher.path_for(delivery)
    target.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = target.parent / f"{_temp_prefix(target)}{dead.stdout.strip()}.abc123"
    leftover.write_text("half a file")
    odd = target.parent / f"{_temp_prefix(target)}\u00b2.abc123"  # not a pid: left alone, not a crash
    odd.write_text("someone else's")
    publisher.deliver(delivery)
    assert not leftover.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, odd.name])


def test_published_files_honour_the_umask(tmp_path):
    import os
    import stat

    publisher = FilePublisher(tmp_path)
    delivery = Delivery(key="pc-3:v1:x", piece_id="pc-3", version=1, channel="x", project="p",
                        text="hello", subject=None, at="2026-01-01T00:00:00Z")
    previous = os.umask(0o022)
    try:
        path = Path(publisher.deliver(delivery))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # readable by the web server that serves the site


@pytest.mark.parametrize("existing", [
    "---\npiece_id: pc-4\nno end to this front matter\n",
    "---\n: : [unbalanced\n---\n\nbody\n",
    "---\n- a list, not a mapping\n---\n\nbody\n",
    "\udcff not utf-8",
])
def test_a_target_file_that_is_not_ours_is_replaced_not_a_crash(tmp_path, existing):
    publisher = FilePublisher(tmp_path)
    delivery = Delivery(key="pc-4:v1:x", piece_id="pc-4", version=1, channel="x", project="p",
                        text="hello", subject=None, at="2026-01-01T00:00:00Z")
    target = publisher.path_for(delivery)
    target.parent.mkdir(parents=True)
    target.write_bytes(existing.encode("utf-8", "surrogateescape"))
    assert publisher.deliver(delivery) == str(target)
    assert "idempotency_key: pc-4:v1:x" in target.read_text() and target.read_text().endswith("\n\nhello\n")
