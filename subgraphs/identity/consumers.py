"""What identity consumes: its own e-mails on identity-mail-v1, handed to the mailbox
(subgraphs/identity/mail.py) once its outbox published them."""
from __future__ import annotations

from mybroker.bus import MessageBus
from mybroker.events import IDENTITY_MAIL
from subgraphs.identity.mail import GROUP, FileMailbox


def subscribe(bus: MessageBus, mailbox: FileMailbox) -> None:
    bus.subscribe(IDENTITY_MAIL, GROUP, mailbox.deliver)
