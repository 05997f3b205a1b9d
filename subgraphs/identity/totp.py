"""TOTP second factor (RFC 6238) with pyotp: 6 digits, 30-second steps, SHA-1, what every
authenticator app reads from an otpauth:// URI. Pure: time comes in as an argument."""
from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "My Broker B3"
# One step either side of now: a phone clock a little off, or a code typed as it turned.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if it is right for a step within the window and
    later than `last_step` (a code already used, or an older one, is refused: no replay)."""
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
