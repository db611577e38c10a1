"""Exact and near-duplicate detection for prompts.

Exact duplicates share the sha256 of the normalized text (NFKC, casefolded, whitespace
collapsed). Near duplicates (light paraphrases) are found with MinHash LSH (datasketch) over
word unigrams and bigrams, then confirmed by the exact Jaccard similarity of those shingle
sets, so LSH's false positives never merge unrelated prompts.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
# Candidates come from LSH at a lower threshold; the exact Jaccard decides.
LSH_THRESHOLD = 0.5
NEAR_DUP_JACCARD = 0.6

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def shingles(text: str) -> set[str]:
    """Word unigrams and bigrams of the normalized text, punctuation dropped."""
    words = _WORD.findall(normalize_text(text))
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


_PERMUTATIONS = None


def _permutations():
    # Generating the permutations dominates MinHash construction; make them once.
    global _PERMUTATIONS
    if _PERMUTATIONS is None:
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=1).permutations
    return _PERMUTATIONS


def minhash_of(shingle_set: set[str]) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=1, permutations=_permutations())
    if shingle_set:
        m.update_batch([s.encode("utf-8") for s in shingle_set])
    return m


def minhash_bytes(m: MinHash) -> bytes:
    return m.hashvalues.astype(np.uint64).tobytes()


def minhash_from_bytes(raw: bytes) -> MinHash:
    return MinHash(
        num_perm=NUM_PERM,
        seed=1,
        hashvalues=np.frombuffer(raw, dtype=np.uint64),
        permutations=_permutations(),
    )


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller id becomes the root, so a cluster is named by its first prompt.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def near_duplicate_clusters(
    new: Iterable[tuple[int, str, MinHash]],
    existing: Iterable[tuple[int, MinHash]],
    text_of: dict[int, str],
    fetch_texts,
) -> dict[int, int]:
    """Cluster the new prompts against each other and the existing ones.

    ``new``: (id, text, minhash); ``existing``: (id, minhash) of prompts already stored;
    ``fetch_texts(ids) -> {id: text}`` loads texts of existing candidates for the exact check.
    Returns {prompt id: cluster id} for every prompt that has at least one near duplicate; the
    cluster id is the smallest prompt id in the cluster.
    """
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    for pid, m in existing:
        lsh.insert(pid, m)
    new = list(new)
    candidate_pairs: list[tuple[int, int]] = []
    for pid, _text, m in new:
        for other in lsh.query(m):
            candidate_pairs.append((pid, other))
        lsh.insert(pid, m)
    if not candidate_pairs:
        return {}
    missing = {b for _, b in candidate_pairs if b not in text_of}
    texts = dict(text_of)
    if missing:
        texts.update(fetch_texts(sorted(missing)))
    shingle_cache: dict[int, set[str]] = {}

    def sh(pid: int) -> set[str]:
        if pid not in shingle_cache:
            shingle_cache[pid] = shingles(texts[pid])
        return shingle_cache[pid]

    uf = _UnionFind()
    for a, b in candidate_pairs:
        if jaccard(sh(a), sh(b)) >= NEAR_DUP_JACCARD:
            uf.union(a, b)
    roots = {x: uf.find(x) for x in list(uf.parent)}
    size: dict[int, int] = {}
    for root in roots.values():
        size[root] = size.get(root, 0) + 1
    return {x: root for x, root in roots.items() if size[root] > 1}
