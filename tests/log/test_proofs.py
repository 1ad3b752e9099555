"""The public log API as a client uses it: signed checkpoints, entries exactly as hashed, inclusion
and consistency proofs that verify (and stop verifying when tampered with), the stored subtrees
behind them, and proofs that read a handful of nodes however long the log is.

Every root here is recomputed naively from the leaves (RFC 9162 section 2.1.1), never with the
service's own Merkle code; the proofs are checked with the RFC's client algorithms.
"""

import base64
import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.log import registry as log_registry
from app.log import service as log_service
from app.log.merkle import root_from_inclusion, verify_consistency
from app.main import create_app
from app.models import Organization
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import LOG_SIGNING_SEED, MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with
from tests.factories import assert_problem

LOG = "/v1/log"
SEVEN = ("index", "at", "actor_org_id", "action", "resource_type", "resource_id", "resource_sha256")
ORIGIN = "pacta-registry"


# --- an independent, naive RFC 9162 -----------------------------------------------------------------


async def _no_rows(session: AsyncSession) -> list[tuple[str, Any]]:
    """Synthetic entries stand for no table: registered so that `append` accepts them."""
    return []


log_registry.register("test_resource", _no_rows)


def naive_leaf(fields: dict[str, Any]) -> bytes:
    """RFC 9162 2.1.1 leaf hash of the RFC 8785 canonical JSON of the seven fields."""
    return hashlib.sha256(b"\x00" + rfc8785.dumps(fields)).digest()


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 2.1.1 writes it (recursive, no stored nodes)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def tampered(hashes: list[bytes], position: int) -> list[bytes]:
    flipped = bytearray(hashes[position])
    flipped[0] ^= 0x01
    return [*hashes[:position], bytes(flipped), *hashes[position + 1 :]]


def inclusion_root(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root the proof leads to, or None when the proof's shape is wrong."""
    try:
        return root_from_inclusion(index, size, leaf, path)
    except ValueError:
        return None


# --- fixtures ------------------------------------------------------------------------------------------


async def grow_log(sessionmaker: async_sessionmaker[AsyncSession], count: int) -> None:
    """Append `count` entries through the service (each a different resource and action)."""
    actions = list(log_service.Action)
    async with sessionmaker() as session:
        for i in range(count):
            action = actions[i % len(actions)]
            await log_service.append(
                session,
                actor_org_id=PLATFORM_ORG_ID if i % 3 else None,
                action=action,
                resource_type="test_resource",
                resource_id=uuid.uuid4(),
                document=None if action is log_service.Action.delete else {"n": i, "name": f"Registro núm. {i}"},
            )
        await session.commit()


async def log_size(session: AsyncSession) -> int:
    head = (await session.execute(text("SELECT size FROM log_head"))).scalar_one()
    rows = (await session.execute(text("SELECT count(*) FROM log_entries"))).scalar_one()
    assert head == rows
    return int(head)


async def fetch_entries(client: httpx2.AsyncClient, size: int) -> list[dict[str, Any]]:
    """Every entry, a page of at most 1000 at a time, as an anonymous client reads them."""
    entries: list[dict[str, Any]] = []
    while len(entries) < size:
        response = await client.get(f"{LOG}/entries", params={"start": len(entries), "end": size})
        assert response.status_code == 200, response.text
        page = response.json()["entries"]
        assert page, "a range inside the log must not come back empty"
        entries.extend(page)
    return entries


async def leaves_of(client: httpx2.AsyncClient, size: int) -> list[bytes]:
    """The leaf hashes recomputed from the fields received (checked against the served ones)."""
    leaves = []
    for position, entry in enumerate(await fetch_entries(client, size)):
        assert entry["index"] == position
        leaf = naive_leaf({k: entry[k] for k in SEVEN})
        assert entry["leaf_hash"] == leaf.hex(), f"entry {position}: served leaf_hash is not the hash of its fields"
        leaves.append(leaf)
    return leaves


@pytest.fixture
async def grown(sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession) -> int:
    """A log of a few dozen entries: sizes that are and are not powers of two."""
    await grow_log(sessionmaker, 36)
    size = await log_size(session)
    assert size >= 37
    return size


# --- checkpoints ---------------------------------------------------------------------------------------


def configured_public_key() -> bytes:
    seed = base64.b64decode(LOG_SIGNING_SEED)
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


async def test_checkpoint_is_signed_by_the_configured_key(
    client: httpx2.AsyncClient, session: AsyncSession, grown: int
) -> None:
    response = await client.get(f"{LOG}/checkpoint")
    assert response.status_code == 200, response.text
    checkpoint = response.json()
    public_key = configured_public_key()
    assert base64.b64decode(checkpoint["public_key"]) == public_key
    # C2SP signed-note key ID: SHA-256(name || "\n" || 0x01 || public key)[:4].
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_key).digest()[:4]
    assert checkpoint["key_id"] == key_id.hex()
    assert checkpoint["origin"] == ORIGIN

    # The note: the tlog-checkpoint body, a blank line, then "— <name> base64(key id || signature)".
    body, signature_lines = checkpoint["note"].split("\n\n")
    body += "\n"
    root = bytes.fromhex(checkpoint["root_hash"])
    assert body == (
        f"{ORIGIN}\n{checkpoint['tree_size']}\n{base64.b64encode(root).decode()}\ntimestamp {checkpoint['timestamp']}\n"
    )
    assert signature_lines.endswith("\n")
    [line] = signature_lines.rstrip("\n").split("\n")
    dash, name, blob = line.split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    raw = base64.b64decode(blob)
    assert raw[:4] == key_id
    assert raw[4:] == base64.b64decode(checkpoint["signature"])

    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    verifier.verify(raw[4:], body.encode())  # raises when it does not verify
    forged = body.replace(f"\n{checkpoint['tree_size']}\n", f"\n{checkpoint['tree_size'] + 1}\n")
    with pytest.raises(InvalidSignature):
        verifier.verify(raw[4:], forged.encode())

    stamp = datetime.strptime(checkpoint["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert checkpoint["tree_size"] == await log_size(session) == grown


async def test_checkpoint_root_is_the_tree_of_the_served_entries(client: httpx2.AsyncClient, grown: int) -> None:
    checkpoint = (await client.get(f"{LOG}/checkpoint")).json()
    assert checkpoint["tree_size"] == grown
    leaves = await leaves_of(client, grown)
    assert checkpoint["root_hash"] == mth(leaves).hex()


async def test_a_later_checkpoint_is_consistent_with_an_earlier_one(
    client: httpx2.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], grown: int
) -> None:
    before = (await client.get(f"{LOG}/checkpoint")).json()
    await grow_log(sessionmaker, 5)
    after = (await client.get(f"{LOG}/checkpoint")).json()
    assert after["tree_size"] == before["tree_size"] + 5
    proof = (
        await client.get(f"{LOG}/proofs/consistency", params={"first": grown, "second": after["tree_size"]})
    ).json()
    assert verify_consistency(
        grown,
        after["tree_size"],
        bytes.fromhex(before["root_hash"]),
        bytes.fromhex(after["root_hash"]),
        [bytes.fromhex(h) for h in proof["hashes"]],
    )


async def test_checkpoint_without_a_signing_key_is_a_503_problem(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    unsigned = create_app(settings_with(log_signing_key=None))
    unsigned.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=unsigned), base_url="http://testserver") as c:
        body = assert_problem(await c.get(f"{LOG}/checkpoint"), 503)
        assert body["type"] == "/problems/log-signing-key-missing"
        assert "PACTA_LOG_SIGNING_KEY" in body["detail"]
        # Without a key nothing can be signed, but the log itself stays readable and provable.
        assert (await c.get(f"{LOG}/entries", params={"start": 0, "end": 1})).status_code == 200
        proof = await c.get(f"{LOG}/proofs/inclusion", params={"index": 0, "tree_size": 1})
        assert proof.status_code == 200, proof.text


# --- entries ------------------------------------------------------------------------------------------


async def test_entries_carry_the_seven_fields_exactly_as_hashed(
    client: httpx2.AsyncClient, session: AsyncSession, grown: int
) -> None:
    entries = await fetch_entries(client, grown)
    stored = {
        int(index): (at, leaf)
        for index, at, leaf in (await session.execute(text("SELECT index, at, leaf_hash FROM log_entries"))).all()
    }
    for entry in entries:
        assert set(entry) == {*SEVEN, "leaf_hash"}
        # The leaf is the RFC 8785 JSON of the values received: `at` is the very string hashed.
        assert naive_leaf({k: entry[k] for k in SEVEN}).hex() == entry["leaf_hash"]
        at, leaf = stored[entry["index"]]
        assert bytes(leaf).hex() == entry["leaf_hash"]
        assert entry["at"].endswith("Z")
        assert datetime.fromisoformat(entry["at"]) == at
    actions = {e["action"] for e in entries[-36:]}
    assert actions == {a.value for a in log_service.Action}
    assert {e["actor_org_id"] for e in entries[-36:]} == {None, str(PLATFORM_ORG_ID)}


async def test_entries_range_is_clipped_to_the_log(client: httpx2.AsyncClient, grown: int) -> None:
    response = await client.get(f"{LOG}/entries", params={"start": grown - 3, "end": grown + 100})
    assert response.status_code == 200, response.text
    assert [e["index"] for e in response.json()["entries"]] == [grown - 3, grown - 2, grown - 1]


# --- proofs -------------------------------------------------------------------------------------------


def tree_sizes(size: int) -> list[int]:
    return sorted({1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33, size - 1, size} - {0})


async def test_every_inclusion_proof_verifies_for_several_tree_sizes(client: httpx2.AsyncClient, grown: int) -> None:
    leaves = await leaves_of(client, grown)
    for size in tree_sizes(grown):
        root = mth(leaves[:size])
        for index in range(size):
            response = await client.get(f"{LOG}/proofs/inclusion", params={"index": index, "tree_size": size})
            assert response.status_code == 200, response.text
            proof = response.json()
            assert (proof["index"], proof["tree_size"]) == (index, size)
            assert proof["leaf_hash"] == leaves[index].hex()
            path = [bytes.fromhex(h) for h in proof["hashes"]]
            assert root_from_inclusion(index, size, leaves[index], path) == root, (index, size)


async def test_a_tampered_inclusion_proof_does_not_verify(client: httpx2.AsyncClient, grown: int) -> None:
    leaves = await leaves_of(client, grown)
    root = mth(leaves)
    index = 5
    proof = (await client.get(f"{LOG}/proofs/inclusion", params={"index": index, "tree_size": grown})).json()
    path = [bytes.fromhex(h) for h in proof["hashes"]]
    assert root_from_inclusion(index, grown, leaves[index], path) == root
    for position in range(len(path)):
        assert inclusion_root(index, grown, leaves[index], tampered(path, position)) != root
    assert inclusion_root(index, grown, leaves[index], path[:-1]) != root  # a hash left out
    assert inclusion_root(index, grown, leaves[index], [*path, leaves[0]]) != root  # one too many
    assert inclusion_root(index, grown, leaves[index + 1], path) != root  # another leaf
    assert inclusion_root(index + 1, grown, leaves[index], path) != root  # another position


async def test_every_consistency_proof_verifies(client: httpx2.AsyncClient, grown: int) -> None:
    leaves = await leaves_of(client, grown)
    for second in tree_sizes(grown):
        second_root = mth(leaves[:second])
        for first in range(second + 1):
            response = await client.get(f"{LOG}/proofs/consistency", params={"first": first, "second": second})
            assert response.status_code == 200, response.text
            proof = response.json()
            assert (proof["first"], proof["second"]) == (first, second)
            hashes = [bytes.fromhex(h) for h in proof["hashes"]]
            assert verify_consistency(first, second, mth(leaves[:first]), second_root, hashes), (first, second)


async def test_a_tampered_consistency_proof_does_not_verify(client: httpx2.AsyncClient, grown: int) -> None:
    leaves = await leaves_of(client, grown)
    first, second = 13, grown
    first_root, second_root = mth(leaves[:first]), mth(leaves[:second])
    proof = (await client.get(f"{LOG}/proofs/consistency", params={"first": first, "second": second})).json()
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert hashes
    assert verify_consistency(first, second, first_root, second_root, hashes)
    for position in range(len(hashes)):
        assert not verify_consistency(first, second, first_root, second_root, tampered(hashes, position))
    assert not verify_consistency(first, second, first_root, second_root, hashes[:-1])
    assert not verify_consistency(first, second, first_root, second_root, [*hashes, leaves[0]])
    # A rewritten history: the old tree's root differs, so the proof cannot join the two.
    rewritten = mth([leaves[1], *leaves[1:first]])
    assert not verify_consistency(first, second, rewritten, second_root, hashes)
    assert not verify_consistency(first, second, first_root, mth(leaves[: second - 1]), hashes)


# --- bad parameters, access ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        pytest.param(
            "proofs/inclusion", {"index": "{size}", "tree_size": "{size}"}, ["query", "index"], id="index=size"
        ),
        pytest.param(
            "proofs/inclusion", {"index": "7", "tree_size": "7"}, ["query", "index"], id="index=tree_size-small"
        ),
        pytest.param(
            "proofs/inclusion", {"index": "0", "tree_size": "{size+1}"}, ["query", "tree_size"], id="tree-beyond-log"
        ),
        pytest.param("proofs/inclusion", {"index": "0", "tree_size": "0"}, ["query", "tree_size"], id="empty-tree"),
        pytest.param("proofs/inclusion", {"index": "-1", "tree_size": "3"}, ["query", "index"], id="negative-index"),
        pytest.param("proofs/inclusion", {"index": "x", "tree_size": "3"}, ["query", "index"], id="not-a-number"),
        pytest.param("proofs/inclusion", {"tree_size": "3"}, ["query", "index"], id="index-missing"),
        pytest.param("proofs/consistency", {"first": "5", "second": "4"}, ["query", "first"], id="first>second"),
        pytest.param(
            "proofs/consistency", {"first": "1", "second": "{size+1}"}, ["query", "second"], id="second-beyond-log"
        ),
        pytest.param("proofs/consistency", {"first": "-1", "second": "4"}, ["query", "first"], id="negative-first"),
        pytest.param("entries", {"start": "5", "end": "5"}, ["query", "end"], id="end=start"),
        pytest.param("entries", {"start": "5", "end": "3"}, ["query", "end"], id="end<start"),
        pytest.param("entries", {"start": "{size}", "end": "{size+1}"}, ["query", "start"], id="start-beyond-log"),
        pytest.param("entries", {"start": "-1", "end": "3"}, ["query", "start"], id="negative-start"),
        pytest.param("entries", {"start": "0"}, ["query", "end"], id="end-missing"),
    ],
)
async def test_bad_parameters_are_422_problems(
    client: httpx2.AsyncClient, grown: int, path: str, params: dict[str, str], loc: list[str | int]
) -> None:
    values = {k: v.format_map({"size": grown, "size+1": grown + 1}) for k, v in params.items()}
    assert_problem(await client.get(f"{LOG}/{path}", params=values), 422, loc=loc)


READS = [
    ("checkpoint", {}),
    ("entries", {"start": 0, "end": 2}),
    ("proofs/inclusion", {"index": 0, "tree_size": 1}),
    ("proofs/consistency", {"first": 1, "second": 1}),
]


@pytest.mark.parametrize(("path", "params"), READS)
async def test_the_log_is_public_but_a_bad_key_is_401(
    client: httpx2.AsyncClient, make_key: MakeKey, path: str, params: dict[str, int]
) -> None:
    assert (await client.get(f"{LOG}/{path}", params=params)).status_code == 200
    valid = await client.get(f"{LOG}/{path}", params=params, headers=bearer(await make_key()))
    assert valid.status_code == 200, valid.text
    for bad in ("pacta_000000000000_not-a-real-secret", "nonsense"):
        assert_problem(await client.get(f"{LOG}/{path}", params=params, headers=bearer(bad)), 401)
    assert_problem(await client.get(f"{LOG}/{path}", params=params, headers={"Authorization": "Basic eDp5"}), 401)


async def test_writes_through_the_api_appear_in_the_log(
    client: httpx2.AsyncClient, make_org: MakeOrg, session: AsyncSession
) -> None:
    before = (await client.get(f"{LOG}/checkpoint")).json()["tree_size"]
    org: Organization = await make_org(name="Universidad del Registro")
    after = (await client.get(f"{LOG}/checkpoint")).json()["tree_size"]
    assert after == before + 1
    [entry] = (await client.get(f"{LOG}/entries", params={"start": before, "end": after})).json()["entries"]
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("create", "organization", str(org.id))
    assert entry["actor_org_id"] == str(PLATFORM_ORG_ID)


# --- stored subtrees, and what a proof reads -------------------------------------------------------


async def test_log_nodes_hold_exactly_the_complete_subtrees(
    client: httpx2.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await grow_log(sessionmaker, 140)
    size = await log_size(session)
    leaves = await leaves_of(client, size)
    rows = (await session.execute(text("SELECT level, index, hash FROM log_nodes"))).all()
    stored = {(int(level), int(index)): bytes(h) for level, index, h in rows}
    assert len(stored) == len(rows)
    expected = {
        (level, index): mth(leaves[index << level : (index + 1) << level])
        for level in range(1, size.bit_length())
        for index in range(size >> level)
    }
    assert set(stored) == set(expected), "log_nodes must hold every complete aligned subtree and nothing else"
    for node, digest in expected.items():
        assert stored[node] == digest, f"stored node {node} does not match the leaves below it"


@contextmanager
def statements_on(connection: AsyncConnection) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement sent on the test's connection while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)


def nodes_asked(statement: str, parameters: Any) -> int:
    """How many stored nodes (leaves included) a statement looks up: a key per leaf index bound,
    a (level, index) pair per element of the two arrays joined with log_nodes."""
    values = list(parameters.values() if isinstance(parameters, dict) else (parameters or ()))
    arrays = [v for v in values if isinstance(v, list | tuple)]
    if arrays:
        assert len({len(a) for a in arrays}) == 1, statement
        return len(arrays[0])
    return len(values)


@pytest.fixture
async def thousand(sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession) -> int:
    await grow_log(sessionmaker, 1000)
    size = await log_size(session)
    assert size > 1000
    return size


@pytest.mark.slow
async def test_proofs_on_a_thousand_entries_read_a_few_nodes(
    client: httpx2.AsyncClient, connection: AsyncConnection, thousand: int
) -> None:
    size = thousand
    bound = 2 * size.bit_length()  # O(log n) stored nodes; the whole log is > 1000 rows

    async def measured(path: str, params: dict[str, int]) -> tuple[int, int]:
        with statements_on(connection) as seen:
            response = await client.get(f"{LOG}/{path}", params=params)
        assert response.status_code == 200, response.text
        on_log = [(s, p) for s, p in seen if "log_entries" in s or "log_nodes" in s or "log_head" in s]
        return len(on_log), sum(nodes_asked(s, p) for s, p in on_log if "log_head" not in s)

    small = await measured("proofs/inclusion", {"index": 3, "tree_size": 10})
    for index in (0, 1, 500, 777, size - 2, size - 1):
        queries, keys = await measured("proofs/inclusion", {"index": index, "tree_size": size})
        assert queries <= 3, f"inclusion proof of {index} took {queries} queries"
        assert queries <= small[0] + 1
        assert keys <= bound, f"inclusion proof of {index} asked for {keys} nodes"
    for first in (1, 7, 512, 999, size - 1):
        queries, keys = await measured("proofs/consistency", {"first": first, "second": size})
        assert queries <= 3
        assert keys <= bound, f"consistency proof from {first} asked for {keys} nodes"
    queries, keys = await measured("checkpoint", {})
    assert queries <= 3
    assert keys <= size.bit_length()

    # And those few nodes are right: the proofs still verify against a full recomputation.
    leaves = await leaves_of(client, size)
    root = mth(leaves)
    for index in (0, 777, size - 1):
        proof = (await client.get(f"{LOG}/proofs/inclusion", params={"index": index, "tree_size": size})).json()
        assert root_from_inclusion(index, size, leaves[index], [bytes.fromhex(h) for h in proof["hashes"]]) == root
    assert (await client.get(f"{LOG}/checkpoint")).json()["root_hash"] == root.hex()


@pytest.mark.slow
async def test_entries_pages_hold_at_most_a_thousand(client: httpx2.AsyncClient, thousand: int) -> None:
    response = await client.get(f"{LOG}/entries", params={"start": 0, "end": thousand})
    assert response.status_code == 200, response.text
    page = response.json()["entries"]
    assert [e["index"] for e in page] == list(range(1000))
