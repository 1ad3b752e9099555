"""API key format and hashing. Keys are 256-bit random, so a plain SHA-256 is a safe verifier."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "pacta"


def new_key() -> tuple[str, str, str]:
    """A fresh key: (secret to show once, lookup prefix, hash to store)."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return secret, prefix, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_prefix(secret: str) -> str | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
