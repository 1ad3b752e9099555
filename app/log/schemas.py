"""API schemas for the transparency log."""

import uuid

from pydantic import BaseModel, Field


class Checkpoint(BaseModel):
    tree_size: int
    root_hash: str = Field(description="Hex RFC 9162 Merkle tree hash of the first tree_size entries.")
    timestamp: str = Field(description="RFC 3339 UTC, also in the signed note.")
    key_id: str = Field(description="Hex C2SP signed-note key ID (4 bytes).")
    public_key: str = Field(description="Base64 raw Ed25519 public key.")
    signature: str = Field(description="Base64 Ed25519 signature over `note` (without its signature line).")
    origin: str
    note: str = Field(description="The C2SP signed note: origin, size, base64 root, timestamp, signature line.")


class Entry(BaseModel):
    """The seven fields exactly as hashed, and the RFC 9162 leaf hash."""

    index: int
    at: str
    actor_org_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str
    resource_sha256: str
    leaf_hash: str


class Entries(BaseModel):
    entries: list[Entry]


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    hashes: list[str] = Field(description="Hex; RFC 9162 audit path from the leaf to the root.")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="Hex; RFC 9162 consistency proof.")
