"""RFC 9162 Merkle tree arithmetic over a log whose complete subtrees are stored.

Every aligned, complete subtree of 2^level leaves (level >= 1) is stored once it fills up, so
the hash of any range that proofs need is a handful of stored nodes: proofs and roots cost
O(log^2 n) node reads, never a scan of the log.
"""

from collections.abc import Callable, Iterable
from hashlib import sha256

from app.log.hashing import node_hash

Node = tuple[int, int]  # (level, index): leaves [index * 2^level, (index + 1) * 2^level)


def split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def nodes_for(start: int, end: int) -> list[Node]:
    """The stored nodes whose hashes make MTH(D[start:end])."""
    size = end - start
    if size == 1:
        return [(0, start)]
    if size & (size - 1) == 0 and start % size == 0:
        return [(size.bit_length() - 1, start // size)]
    k = split(size)
    return nodes_for(start, start + k) + nodes_for(start + k, end)


def range_hash(start: int, end: int, lookup: Callable[[Node], bytes]) -> bytes:
    """MTH(D[start:end]) as RFC 9162 defines it; MTH of the empty tree is SHA-256 of nothing."""
    size = end - start
    if size == 0:
        return sha256(b"").digest()
    if size == 1:
        return lookup((0, start))
    if size & (size - 1) == 0 and start % size == 0:
        return lookup((size.bit_length() - 1, start // size))
    k = split(size)
    return node_hash(range_hash(start, start + k, lookup), range_hash(start + k, end, lookup))


def inclusion_ranges(index: int, size: int, offset: int = 0) -> list[tuple[int, int]]:
    """PATH(m, D[n]) (RFC 9162 2.1.3.1) as the leaf ranges whose hashes form the proof."""
    if size <= 1:
        return []
    k = split(size)
    if index < k:
        return [*inclusion_ranges(index, k, offset), (offset + k, offset + size)]
    return [*inclusion_ranges(index - k, size - k, offset + k), (offset, offset + k)]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(m, D[n]) (RFC 9162 2.1.4.1) as leaf ranges."""
    if first == 0 or first == second:
        return []

    def subproof(m: int, n: int, offset: int, complete: bool) -> list[tuple[int, int]]:
        if m == n:
            return [] if complete else [(offset, offset + n)]
        k = split(n)
        if m <= k:
            return [*subproof(m, k, offset, complete), (offset + k, offset + n)]
        return [*subproof(m - k, n - k, offset + k, False), (offset, offset + k)]

    return subproof(first, second, 0, True)


def nodes_for_ranges(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(nodes_for(start, end))
    return needed


def completed_by(index: int) -> list[Node]:
    """The left siblings to combine when leaf `index` is appended: one per level where it closes
    a complete subtree (the trailing one-bits of index)."""
    siblings: list[Node] = []
    level, position = 0, index
    while position % 2 == 1:
        siblings.append((level, position - 1))
        level, position = level + 1, position // 2
    return siblings


# Verification (RFC 9162 2.1.3.2 and 2.1.4.2): what a client runs on a proof it was given.


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    if index >= size:
        raise ValueError("index beyond tree size")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root starts the path
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
