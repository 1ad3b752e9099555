#!/usr/bin/env python3
"""Prove that an evidence document of a Pacta registry is in its transparency log.

A third party runs this against a public deployment with nothing but Python 3.11+ and the
`cryptography` package (for Ed25519). It trusts only the log's public key, given by the caller:

    python pacta_verify.py --url https://pacta.example.org --public-key BASE64 --evidence UUID [--file doc.pdf]

1. fetch a checkpoint and check its Ed25519 signature (C2SP signed note) with the given key;
2. fetch the document's provenance: the record logged at upload and the log entry;
3. hash the content (downloaded, or --file) and compare with the logged record's sha256;
4. recompute resource_sha256 (RFC 8785 canonical JSON) and the entry's RFC 9162 leaf hash;
5. fetch the inclusion proof for the checkpoint's tree size and recompute the root.

Exit status 0 when every step holds, 1 otherwise. This file deliberately repeats the few lines of
RFC 9162 arithmetic it needs instead of importing Pacta: it must stand on its own.
"""

import argparse
import base64
import hashlib
import json
import sys
import urllib.parse
import urllib.request
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TIMEOUT = 30


class Failed(Exception):
    pass


def canonical(value: Any) -> bytes:
    """RFC 8785 for the documents Pacta logs (strings, integers, booleans, null, ASCII keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise Failed("the proof's index is beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Failed("the inclusion proof is too long")
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("the inclusion proof is too short")
    return r


def get(base: str, path: str, params: dict[str, Any] | None = None) -> Any:
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - the caller names the server
        return json.loads(response.read())


def download_sha256(base: str, evidence_id: str) -> str:
    digest = hashlib.sha256()
    url = f"{base.rstrip('/')}/v1/evidence/{evidence_id}/content"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310
        while chunk := response.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(base: str, public_key_b64: str, evidence_id: str, file_path: str | None) -> list[str]:
    steps: list[str] = []
    public_key = base64.b64decode(public_key_b64)
    checkpoint = get(base, "/v1/log/checkpoint")
    body = checkpoint["note"].split("\n\n")[0] + "\n"
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(checkpoint["signature"]), body.encode())
    except Exception as exc:
        raise Failed("the checkpoint is not signed by the given key") from exc
    lines = body.split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    if size != checkpoint["tree_size"] or root.hex() != checkpoint["root_hash"]:
        raise Failed("the checkpoint's fields differ from its signed note")
    steps.append(f"checkpoint signed by the given key: tree size {size}, root {root.hex()}")

    provenance = get(base, f"/v1/evidence/{evidence_id}/provenance")
    document, entry = provenance["document"], provenance["entry"]
    if file_path is not None:
        with open(file_path, "rb") as handle:
            content_sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    else:
        content_sha256 = download_sha256(base, evidence_id)
    if content_sha256 != document["sha256"]:
        raise Failed(f"the content hashes to {content_sha256}, the logged record says {document['sha256']}")
    steps.append(f"content SHA-256 {content_sha256} is the one recorded at upload")

    if document.get("id") != evidence_id or entry["resource_id"] != evidence_id or entry["resource_type"] != "evidence":
        raise Failed("the log entry is not about this evidence document")
    resource_sha256 = hashlib.sha256(canonical(document)).hexdigest()
    if resource_sha256 != entry["resource_sha256"]:
        raise Failed("the logged record does not hash to the entry's resource_sha256")
    leaf_fields = {
        k: entry[k]
        for k in ("index", "at", "actor_org_id", "action", "resource_type", "resource_id", "resource_sha256")
    }
    leaf = hashlib.sha256(b"\x00" + canonical(leaf_fields)).digest()
    if leaf.hex() != entry["leaf_hash"]:
        raise Failed("the entry's fields do not hash to its leaf hash")
    steps.append(f"log entry {entry['index']} records the upload (leaf {leaf.hex()})")

    if entry["index"] >= size:
        raise Failed("the checkpoint predates the entry: fetch a newer checkpoint")
    proof = get(base, "/v1/log/proofs/inclusion", {"index": entry["index"], "tree_size": size})
    computed = root_from_inclusion(entry["index"], size, leaf, [bytes.fromhex(h) for h in proof["hashes"]])
    if computed != root:
        raise Failed("the inclusion proof does not lead to the signed root")
    steps.append(f"inclusion proof of {len(proof['hashes'])} hashes leads to the signed root")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the registry's base URL")
    parser.add_argument("--public-key", required=True, help="the log's Ed25519 public key, base64")
    parser.add_argument("--evidence", required=True, help="the evidence document's id")
    parser.add_argument("--file", help="check this local copy instead of downloading the content")
    args = parser.parse_args(argv)
    try:
        steps = verify(args.url, args.public_key, args.evidence, args.file)
    except Failed as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    except (OSError, ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: could not read the registry's answers ({exc})")
        return 1
    for step in steps:
        print(f"ok  {step}")
    print("VERIFIED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
