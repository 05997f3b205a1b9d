"""Identity's messages, mapped to the kernel's wire types (mybroker.wire holds the
encoding): the e-mails a password reset sends, in Brazilian Portuguese."""
from __future__ import annotations

from mybroker import wire

RESET_SUBJECT = "Redefinição de senha"


def password_reset_mail(email: str, token: str, minutes: int) -> wire.Mail:
    return wire.Mail(
        to=email, kind="password-reset", subject=RESET_SUBJECT, token=token,
        body=f"Use este código em até {minutes} minutos para criar uma senha nova: {token}",
    )


def no_account_mail(email: str) -> wire.Mail:
    """A reset asked for an address with no account: its owner hears of it, nobody else."""
    return wire.Mail(
        to=email, kind="no-account", subject=RESET_SUBJECT,
        body="Alguém pediu para redefinir a senha deste e-mail, mas não há conta com ele.",
    )
