"""The `file` publisher: one Markdown file per publication under out/<channel>/.

The file is written to a temporary name and renamed into place, so it either exists whole or
not at all; its front matter carries the idempotency key, so a repeated delivery is a no-op.
A worker killed between writing and renaming leaves its temporary file behind; the delivery
that takes over removes the leftovers of dead processes for the same target.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import ClassVar

import yaml

from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    PublicationRejected,
    PublisherContext,
    Receipt,
)
from masthead.config import FilePublisherSection
from masthead.processes import pid_alive


class FilePublisher:
    kind: ClassVar[str] = "file"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=False)
    settings_model: ClassVar[type[FilePublisherSection]] = FilePublisherSection

    def __init__(self, out_dir: Path, name: str = "file"):
        self.out_dir = out_dir
        self.name = name

    @classmethod
    def from_settings(cls, settings: FilePublisherSection, context: PublisherContext) -> FilePublisher:
        return cls(context.out_dir, context.name)

    def publish(self, delivery: Delivery) -> Receipt:
        return Receipt(location=self.deliver(delivery))

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        target = self.path_for(delivery)
        return Receipt(location=str(target)) if target.exists() and _key_of(target) == delivery.key else None

    def retract(self, receipt: Receipt) -> None:
        raise PublicationRejected("the file publisher does not retract; delete the file by hand")

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        return f"writes to {self.out_dir}"

    def path_for(self, delivery: Delivery) -> Path:
        return self.out_dir / delivery.channel / f"{delivery.piece_id}-v{delivery.version}.md"

    def deliver(self, delivery: Delivery) -> str:
        target = self.path_for(delivery)
        if target.exists() and _key_of(target) == delivery.key:
            return str(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        front = {
            "piece_id": delivery.piece_id,
            "version": delivery.version,
            "channel": delivery.channel,
            "project": delivery.project,
            "published_at": delivery.at,
            "idempotency_key": delivery.key,
        }
        if delivery.subject:
            front["subject"] = delivery.subject
        body = "---\n" + yaml.safe_dump(front, sort_keys=True, allow_unicode=True) + "---\n\n" + delivery.text.rstrip() + "\n"
        _remove_leftovers(target)
        tmp = target.parent / f"{_temp_prefix(target)}{os.getpid()}.{secrets.token_hex(4)}"
        # Not mkstemp: its files are 0600 whatever the umask, and a published file is for others to
        # read (a static site, a mail merge). O_EXCL keeps mkstemp's safety; the umask applies.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return str(target)


HOST = socket.gethostname()


def _temp_prefix(target: Path) -> str:
    # The host and pid in the name tell whether the writer is still alive.
    return f".publishing-{target.name}.{HOST}."


def _remove_leftovers(target: Path) -> None:
    prefix = _temp_prefix(target)
    for leftover in target.parent.glob(f"{prefix}*"):
        pid = leftover.name[len(prefix):].split(".", 1)[0]
        # ASCII digits only: a file named with "²" passes isdigit() and then breaks int().
        if pid.isascii() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _key_of(path: Path) -> str | None:
    """The idempotency key in the file's front matter; None for any file that is not ours
    (no front matter, an unterminated one, YAML that does not parse, not UTF-8)."""
    try:
        text = path.read_text("utf-8")
    except (UnicodeDecodeError, IsADirectoryError):
        return None
    end = text.find("\n---\n", 4)
    if not text.startswith("---\n") or end < 0:
        return None
    try:
        front = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None
    key = front.get("idempotency_key") if isinstance(front, dict) else None
    return key if isinstance(key, str) else None
