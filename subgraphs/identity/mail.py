"""Where identity's e-mails end up on this simulated platform: the outbox publishes them on
IDENTITY_MAIL, and this adapter, the only consumer, appends each to a JSON-lines mailbox
file (MYBROKER_MAIL_FILE, default data_dir/mailbox.jsonl), one object per mail with the
envelope id. A real deployment would put an SMTP or mail-API sender here instead; tests
and a local trader read the file. Delivery is at least once, so a mail may repeat
(the same `id`): readers take the last one per id."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from mybroker import wire
from mybroker.events import MAIL, Envelope

GROUP = "identity-mailer"


class FileMailbox:
    def __init__(self, path: Path):
        self.path = path

    async def deliver(self, message: Envelope) -> None:
        if message.type != MAIL:
            return
        mail = wire.Mail.of(message)  # a malformed one raises: retried, then dead-lettered
        line = orjson.dumps({"id": message.id, "at": message.occurred_at, **mail.payload()}) + b"\n"
        await asyncio.to_thread(self._append, line)

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only: the file holds reset codes.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as file:
            file.write(line)


def read_mailbox(path: Path) -> list[dict]:
    """Every mail in the file, oldest first, a repeated delivery once."""
    if not path.exists():
        return []
    mails: dict[str, dict] = {}
    for raw in path.read_bytes().splitlines():
        if raw.strip():
            mail = orjson.loads(raw)
            mails[mail["id"]] = mail
    return list(mails.values())
