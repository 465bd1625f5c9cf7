"""The Merkle tree of RFC 9162 (Certificate Transparency version 2.0), section 2.1.

Written from the RFC's text; ``tests/test_merkle.py`` checks it against the
reference tree heads and proofs published with RFC 6962's reference
implementation (the same tree: RFC 9162 keeps RFC 6962's hashing).

- 2.1.1: ``MTH({}) = SHA-256()``; ``MTH({d0}) = SHA-256(0x00 || d0)``; for n > 1
  with k the largest power of two smaller than n,
  ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``;
- 2.1.3.1: the inclusion proof ``PATH(m, D[n])``; 2.1.3.2: its verification;
- 2.1.4.1: the consistency proof ``PROOF(m, D[n])``; 2.1.4.2: its verification.

Proof generation works over any :class:`RangeHasher` (``MTH(D[lo:hi])`` for
absolute leaf offsets), so a log that has pruned old entries can still prove
anything about the entries it keeps (:class:`MerkleTree` with a base frontier:
every node such a proof needs is either a kept leaf range or one of the perfect
subtrees of the frontier).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: Perfect subtrees at least this large are cached once computed (they never change).
CACHE_MIN_LEAVES = 64


class ProofError(ValueError):
    """A proof was asked for sizes or indices the tree cannot prove."""


class Pruned(ProofError):
    """The proof needs leaves this log has pruned (older than its base)."""


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a list of leaf hashes (the whole list is the tree)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier = CompactRange()
    for value in leaf_hashes:
        frontier.append(value)
    return frontier.root()


class RangeHasher(Protocol):
    def __call__(self, lo: int, hi: int) -> bytes:
        """``MTH(D[lo:hi])`` for ``0 <= lo < hi``."""


def inclusion_path(index: int, size: int, mth: RangeHasher) -> list[bytes]:
    """``PATH(index, D[size])`` (2.1.3.1): sibling hashes from the leaf up to the root."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    siblings: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            siblings.append(mth(lo + k, hi))
            hi = lo + k
        else:
            siblings.append(mth(lo, lo + k))
            lo += k
    siblings.reverse()  # the RFC lists the deepest sibling first
    return siblings


def consistency_path(first: int, second: int, mth: RangeHasher) -> list[bytes]:
    """``PROOF(first, D[second])`` (2.1.4.1); empty when ``first == second``."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} to {second}")
    nodes: list[bytes] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            nodes.append(mth(lo + k, hi))
            hi = lo + k
        else:
            nodes.append(mth(lo, lo + k))
            lo += k
            m -= k
            whole = False
    if not whole:
        nodes.append(mth(lo, hi))
    nodes.reverse()
    return nodes


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``path`` prove ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in path):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does ``path`` prove the tree ``second_root`` extends ``first_root``?

    Equal sizes are consistent only with an empty proof and equal roots (the RFC's
    algorithm starts from a non-empty proof); size 0 is not a tree head to prove from.
    """
    if not 0 < first <= second or any(len(p) != HASH_SIZE for p in path):
        return False
    if first == second:
        return not path and first_root == second_root
    nodes = list(path)
    if not nodes:
        return False
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a subtree
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class CompactRange:
    """The perfect subtrees covering ``D[0:n]`` (largest first): O(log n) to append or root."""

    def __init__(self) -> None:
        self._blocks: list[tuple[int, bytes]] = []  # (number of leaves, hash)
        self.size = 0

    @classmethod
    def of(cls, blocks: Sequence[tuple[int, bytes]]) -> CompactRange:
        """From perfect subtrees (leaf count, hash), largest first, as :func:`frontier_ranges`."""
        compact = cls()
        compact._blocks = list(blocks)
        compact.size = sum(count for count, _ in blocks)
        return compact

    def append(self, value: bytes) -> None:
        self._blocks.append((1, value))
        self.size += 1
        while len(self._blocks) >= 2 and self._blocks[-1][0] == self._blocks[-2][0]:
            count, right = self._blocks.pop()
            _, left = self._blocks.pop()
            self._blocks.append((count * 2, node_hash(left, right)))

    def hashes(self) -> list[bytes]:
        """The subtree hashes, largest first (those of :func:`frontier_ranges` (size))."""
        return [value for _, value in self._blocks]

    def root(self) -> bytes:
        if not self._blocks:
            return EMPTY_ROOT
        result = self._blocks[-1][1]
        for _, value in reversed(self._blocks[:-1]):
            result = node_hash(value, result)
        return result


def frontier_ranges(size: int) -> list[tuple[int, int]]:
    """The maximal perfect subtrees covering ``[0, size)``, left to right."""
    ranges = []
    lo = 0
    for bit in range(size.bit_length() - 1, -1, -1):
        if size & (1 << bit):
            ranges.append((lo, lo + (1 << bit)))
            lo += 1 << bit
    return ranges


class MerkleTree:
    """A log's tree: kept leaf hashes from ``base`` on, and the frontier of ``[0, base)``.

    ``base_hashes`` are the hashes of :func:`frontier_ranges` (base), which stand
    for the pruned leaves. Leaf hashes are held in one bytearray (32 bytes each).
    """

    def __init__(self, base: int = 0, base_hashes: Sequence[bytes] = ()) -> None:
        ranges = frontier_ranges(base)
        if len(ranges) != len(base_hashes):
            raise ValueError(f"a base of {base} needs {len(ranges)} frontier hashes")
        self.base = base
        self._base_blocks = dict(zip(ranges, base_hashes, strict=True))
        self._leaves = bytearray()
        self._frontier = CompactRange.of(
            [(hi - lo, value) for (lo, hi), value in zip(ranges, base_hashes, strict=True)]
        )
        self._cache: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return self._frontier.size

    def append(self, value: bytes) -> int:
        """Add a leaf hash; returns its index."""
        if len(value) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        self._leaves += value
        self._frontier.append(value)
        return self.size - 1

    def extend(self, values: Iterable[bytes]) -> None:
        for value in values:
            self.append(value)

    def leaf(self, index: int) -> bytes:
        if index < self.base:
            raise Pruned(f"leaf {index} was pruned (the log starts at {self.base})")
        offset = (index - self.base) * HASH_SIZE
        if index >= self.size:
            raise ProofError(f"leaf {index} is beyond the log's {self.size} entries")
        return bytes(self._leaves[offset : offset + HASH_SIZE])

    def root(self, size: int | None = None) -> bytes:
        """The tree head at ``size`` (default: now)."""
        if size is None or size == self.size:
            return self._frontier.root()
        if not 0 <= size <= self.size:
            raise ProofError(f"no tree of {size} in a log of {self.size}")
        return EMPTY_ROOT if size == 0 else self.hash_range(0, size)

    def hash_range(self, lo: int, hi: int) -> bytes:
        """``MTH(D[lo:hi])`` from kept leaves, the base frontier and cached subtrees."""
        block = self._base_blocks.get((lo, hi))
        if block is not None:
            return block
        if hi - lo == 1:
            return self.leaf(lo)
        if lo < self.base and hi <= self.base:
            return self._pruned_range(lo, hi)
        n = hi - lo
        perfect = n & (n - 1) == 0 and n >= CACHE_MIN_LEAVES
        if perfect and (lo, hi) in self._cache:
            return self._cache[(lo, hi)]
        k = split_point(n)
        value = node_hash(self.hash_range(lo, lo + k), self.hash_range(lo + k, hi))
        if perfect:
            self._cache[(lo, hi)] = value
        return value

    def _pruned_range(self, lo: int, hi: int) -> bytes:
        """A right edge ``[lo, base)`` made of whole frontier subtrees (e.g. the head at base)."""
        blocks = sorted(key for key in self._base_blocks if key[0] >= lo)
        if hi != self.base or not blocks or blocks[0][0] != lo:
            raise Pruned(f"leaves {lo}..{hi - 1} were pruned")
        result = self._base_blocks[blocks[-1]]
        for key in reversed(blocks[:-1]):
            result = node_hash(self._base_blocks[key], result)
        return result

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_path(index, self.size if size is None else size, self._checked(size))

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        size = self.size if second is None else second
        return consistency_path(first, size, self._checked(second))

    def _checked(self, size: int | None) -> RangeHasher:
        if size is not None and not 0 < size <= self.size:
            raise ProofError(f"no tree of {size} in a log of {self.size}")
        return self.hash_range

    def prune(self, new_base: int) -> list[bytes]:
        """Forget the leaves before ``new_base``; returns the new base's frontier hashes."""
        if not self.base <= new_base <= self.size:
            raise ProofError(f"cannot prune to {new_base} (log {self.base}..{self.size})")
        ranges = frontier_ranges(new_base)
        hashes = [self.hash_range(lo, hi) for lo, hi in ranges]
        del self._leaves[: (new_base - self.base) * HASH_SIZE]
        self.base = new_base
        self._base_blocks = dict(zip(ranges, hashes, strict=True))
        self._cache = {key: value for key, value in self._cache.items() if key[0] >= new_base}
        return hashes
