"""RFC 9162 section 2.1: tree heads, inclusion and consistency proofs.

The reference values are RFC 6962's published test tree (the eight leaves below,
from the certificate-transparency reference implementation's merkle tree tests,
reproduced by transparency-dev/merkle): RFC 9162 keeps RFC 6962's hashing, so a
log that disagrees with them would prove nothing to any other implementation.
Every proof this module makes is also checked, for every size up to 70 and
every pair of sizes, with the RFC's verification algorithms, and must fail when
one bit changes.
"""

from __future__ import annotations

import hashlib

import pytest

from transparency.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    Pruned,
    consistency_path,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.timeout(120)

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
#: (leaf index, tree size, proof) from the reference tests (which number leaves from 1).
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def _tree(leaves: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    tree.extend(leaf_hash(leaf) for leaf in leaves)
    return tree


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_tree_heads_match_the_reference_tree() -> None:
    assert EMPTY_ROOT == ROOTS[0] == hashlib.sha256(b"").digest()
    tree = MerkleTree()
    for size, leaf in enumerate(LEAVES, start=1):
        tree.append(leaf_hash(leaf))
        assert tree.root() == ROOTS[size]
        assert root_of([leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size]
    for size in range(9):
        assert tree.root(size) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[str]) -> None:
    tree = _tree(LEAVES)
    made = tree.inclusion_proof(index, size)
    assert [p.hex() for p in made] == proof
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(index, size, leaf, made, ROOTS[size])
    assert not verify_inclusion(index, size, _flip(leaf), made, ROOTS[size])
    assert not verify_inclusion(index, size, leaf, made, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(first: int, second: int, proof: list[str]) -> None:
    tree = _tree(LEAVES)
    made = tree.consistency_proof(first, second)
    assert [p.hex() for p in made] == proof
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], made)


def test_every_proof_of_every_size_verifies_and_one_bit_breaks_it() -> None:
    leaves = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(70)]
    tree = MerkleTree()
    tree.extend(leaves)
    roots = [root_of(leaves[:n]) for n in range(71)]
    for size in range(1, 71):
        assert tree.root(size) == roots[size]
        for index in range(size):
            path = tree.inclusion_proof(index, size)
            assert verify_inclusion(index, size, leaves[index], path, roots[size])
            if path:
                assert not verify_inclusion(
                    index, size, leaves[index], [_flip(path[0]), *path[1:]], roots[size]
                )
        for first in range(1, size + 1):
            path = tree.consistency_proof(first, size)
            assert verify_consistency(first, size, roots[first], roots[size], path)
            if first < size:
                assert not verify_consistency(first, size, _flip(roots[first]), roots[size], path)
                assert not verify_consistency(first, size, roots[first], _flip(roots[size]), path)
                assert not verify_consistency(first, size, roots[first], roots[size], path[:-1])


def test_a_rewritten_history_is_inconsistent_with_its_old_head() -> None:
    leaves = [leaf_hash(b"entry %d" % i) for i in range(20)]
    honest = MerkleTree()
    honest.extend(leaves)
    old_head = honest.root(12)
    rewritten = MerkleTree()
    rewritten.extend([*leaves[:5], leaf_hash(b"entry 5, rewritten"), *leaves[6:]])
    proof = rewritten.consistency_proof(12, 20)
    assert not verify_consistency(12, 20, old_head, rewritten.root(), proof)


def test_a_pruned_tree_proves_everything_about_the_entries_it_keeps() -> None:
    leaves = [leaf_hash(b"%d" % i) for i in range(300)]
    full = MerkleTree()
    full.extend(leaves)
    for base in (1, 64, 100, 129, 255, 256):
        pruned = MerkleTree()
        pruned.extend(leaves[:base])
        frontier = pruned.prune(base)
        restored = MerkleTree(base, frontier)
        restored.extend(leaves[base:])
        assert restored.root() == full.root()
        for size in (base, base + 1, 299, 300):
            if size == 0:
                continue
            assert restored.root(size) == full.root(size)
            for index in (base, size - 1):
                if base <= index < size:
                    assert restored.inclusion_proof(index, size) == full.inclusion_proof(
                        index, size
                    )
            assert restored.consistency_proof(size, 300) == full.consistency_proof(size, 300)
        if base > 2:
            with pytest.raises(Pruned):
                restored.inclusion_proof(0)


def test_bad_requests_are_refused() -> None:
    tree = _tree(LEAVES)
    with pytest.raises(ProofError):
        tree.inclusion_proof(8)
    with pytest.raises(ProofError):
        consistency_path(0, 8, tree.hash_range)
    with pytest.raises(ProofError):
        tree.consistency_proof(3, 9)
    assert not verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    assert not verify_inclusion(8, 8, ROOTS[1], [], ROOTS[8])
