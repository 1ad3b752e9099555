"""Signed checkpoints: a C2SP signed note (tlog-checkpoint) over the tree size and root hash."""

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.config import Settings

ED25519 = b"\x01"  # the signature type byte of C2SP signed notes
KEY_FILE = "log-signing-key"


@dataclass(frozen=True, slots=True)
class LogSigner:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        """C2SP signed-note key ID: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || key)."""
        return hashlib.sha256(self.name.encode() + b"\n" + ED25519 + self.public_key).digest()[:4]

    def sign(self, body: str) -> bytes:
        return self.private_key.sign(body.encode())


def checkpoint_body(origin: str, tree_size: int, root: bytes, timestamp: str) -> str:
    """The note text: origin, size, base64 root (tlog-checkpoint), then a timestamp extension line."""
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\ntimestamp {timestamp}\n"


def signed_note(body: str, signer: LogSigner, signature: bytes) -> str:
    return f"{body}\n\u2014 {signer.name} {base64.b64encode(signer.key_id + signature).decode()}\n"


def verify(public_key: bytes, body: str, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, body.encode())
    except Exception:
        return False
    return True


def _from_seed(seed_b64: str) -> Ed25519PrivateKey:
    seed = base64.b64decode(seed_b64, validate=True)
    if len(seed) != 32:
        raise ValueError("PACTA_LOG_SIGNING_KEY must be the base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_seed() -> str:
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def load_signer(settings: Settings) -> LogSigner | None:
    """The configured key; with the embedded database, one generated once and kept in data_dir.

    None when neither: a deployment on its own PostgreSQL must set PACTA_LOG_SIGNING_KEY, the
    same for every process, or checkpoints are refused (503).
    """
    if settings.log_signing_key is not None:
        return LogSigner(settings.log_origin, _from_seed(settings.log_signing_key.get_secret_value()))
    if settings.database_url is not None:
        return None
    return LogSigner(settings.log_origin, _from_seed(embedded_seed(Path(settings.data_dir))))


def embedded_seed(data_dir: Path) -> str:
    """The embedded setup's key, generated on first start and kept with its data."""
    path = data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_seed() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()
