"""Exact and near-duplicate detection for prompts.

Exact duplicates share the sha256 of the normalized text (NFKC, casefolded, whitespace
collapsed). Near duplicates (light paraphrases) are found with MinHash LSH over word unigrams and
bigrams (datasketch's signatures, banded as its MinHashLSH bands them), then confirmed by the
exact Jaccard similarity of those shingle sets, so LSH's false positives never merge
unrelated prompts. The band keys of stored prompts live in an indexed table
(``PromptBand``), so an import looks up its new prompts' candidates instead of loading every
stored signature: its cost does not grow with the project.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash

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


# LSH banding as datasketch's MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM) does it
# (its .b and .r are 25 and 5): two signatures are candidates when one band is equal.
BANDS, BAND_ROWS = 25, 5
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """(n, BANDS) int64 keys of the bands of (n, NUM_PERM) uint64 signatures.

    Equal bands give equal keys, and the band's position is mixed in, so band i of one
    signature never matches band j of another. Two different bands share a key with
    probability about 2^-64; such a collision only adds a candidate, which the exact Jaccard
    check then refuses."""
    n = signatures.shape[0]
    values = signatures[:, : BANDS * BAND_ROWS].reshape(n, BANDS, BAND_ROWS)
    with np.errstate(over="ignore"):
        h = np.tile(np.arange(1, BANDS + 1, dtype=np.uint64) * _GOLDEN, (n, 1))
        for k in range(BAND_ROWS):
            h ^= values[:, :, k]
            h *= _MIX
            h ^= h >> np.uint64(31)
    return h.view(np.int64)


def signature_matrix(signatures: Iterable[MinHash]) -> np.ndarray:
    rows = [m.hashvalues.astype(np.uint64) for m in signatures]
    return np.stack(rows) if rows else np.empty((0, NUM_PERM), dtype=np.uint64)


def candidate_pairs_among(ids: list[int], keys: np.ndarray) -> set[tuple[int, int]]:
    """Pairs (smaller id, larger id) of ``ids`` that share a band key (``keys`` row by row)."""
    by_key: dict[int, list[int]] = defaultdict(list)
    for pid, row in zip(ids, keys.tolist(), strict=True):
        for key in row:
            by_key[key].append(pid)
    pairs = set()
    for members in by_key.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a != b:
                    pairs.add((min(a, b), max(a, b)))
    return pairs


def near_duplicate_clusters(
    candidate_pairs: Iterable[tuple[int, int]],
    text_of: dict[int, str],
    fetch_texts,
) -> dict[int, int]:
    """Cluster prompts from their LSH candidate pairs: a pair joins when the exact Jaccard of
    its shingle sets reaches NEAR_DUP_JACCARD.

    ``text_of``: texts already at hand (the new prompts); ``fetch_texts(ids) -> {id: text}``
    loads the others (stored candidates). Returns {prompt id: cluster id} for every prompt
    with at least one near duplicate; the cluster id is the smallest prompt id in the cluster.
    """
    candidate_pairs = sorted(set(candidate_pairs))
    if not candidate_pairs:
        return {}
    missing = {x for pair in candidate_pairs for x in pair if x not in text_of}
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
