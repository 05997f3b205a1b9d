"""Identity's signing keys: RSA private keys kept as PEM, published as a JWKS.

Rotation: a key ring holds several keys, newest first. The newest signs; all are
published, so tokens signed by an older key keep verifying until they expire. To rotate,
put a new key in front (MYBROKER_JWT_PRIVATE_KEY or the key file), restart, and drop the
old key once the longest access-token lifetime has passed."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mybroker.auth import ALGORITHM
from mybroker.settings import Settings

log = logging.getLogger("mybroker.identity.keys")

KEY_FILE_NAME = "identity-signing-key.pem"
_PEM_BLOCK = re.compile(r"-----BEGIN (?:RSA )?PRIVATE KEY-----.+?-----END (?:RSA )?PRIVATE KEY-----", re.DOTALL)


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk_thumbprint(required_members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the key's required members (e, kty, n for RSA), sorted, no whitespace."""
    canonical = json.dumps(required_members, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> "SigningKey":
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ValueError("the identity signing key must be an RSA key of at least 2048 bits")
        return cls(key)

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def _public_members(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}

    @property
    def kid(self) -> str:
        return jwk_thumbprint(self._public_members())

    def public_jwk(self) -> dict[str, str]:
        return {**self._public_members(), "use": "sig", "alg": ALGORITHM, "kid": self.kid}


class KeyRing:
    """Newest first: `signing_key` signs, `jwks()` publishes every key's public half."""

    def __init__(self, keys: list[SigningKey]):
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.keys = list(keys)

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    @classmethod
    def from_pem_bundle(cls, text: str) -> "KeyRing":
        blocks = _PEM_BLOCK.findall(text)
        if not blocks:
            raise ValueError("no PEM private key found")
        return cls([SigningKey.from_pem(block) for block in blocks])


def load_key_ring(settings: Settings) -> KeyRing:
    """From MYBROKER_JWT_PRIVATE_KEY if set, else the key file in data_dir (created on the
    first start, readable by its owner only)."""
    if settings.jwt_private_key.strip():
        return KeyRing.from_pem_bundle(settings.jwt_private_key)
    path = Path(settings.data_dir) / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    return KeyRing.from_pem_bundle(path.read_text(encoding="ascii"))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = SigningKey.generate().to_pem()
    try:
        # O_EXCL: two processes starting together must not overwrite each other's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    log.info("created a new JWT signing key at %s", path)
