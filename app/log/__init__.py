"""The transparency log: every write, hashed into an RFC 9162 Merkle tree."""
