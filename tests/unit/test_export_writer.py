"""The export's compressing writer, which runs on a thread of its own: what it writes is the
gzip of the pages in order with the SHA-256 of those bytes, and a failing disk fails the export
(no hang, no silent truncation)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os

import pytest

from masthead.app.history import _GzipWriter


def test_the_pages_come_out_gzipped_in_order_with_their_digest():
    sink = io.BytesIO()
    writer = _GzipWriter(sink)
    pages = [f"page {n}\n".encode() * 1000 for n in range(20)]
    for page in pages:
        writer.write(page)
    digest = writer.close()
    assert gzip.decompress(sink.getvalue()) == b"".join(pages)
    assert digest == hashlib.sha256(sink.getvalue()).hexdigest()


class FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        raise OSError(28, "No space left on device")


def test_a_failing_disk_fails_the_export():
    writer = _GzipWriter(FullDisk())
    with pytest.raises(OSError, match="No space left"):
        for _ in range(20):  # random bytes do not compress: the first page already reaches the disk
            writer.write(os.urandom(1 << 20))
        writer.close()
