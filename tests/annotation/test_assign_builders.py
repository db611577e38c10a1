"""The pair builder (annotation.services.tasks.pair_design): which pairs a prompt's responses
are compared in. Pure: no database."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from annotation.services.tasks import ALL_PAIRS_UP_TO, PAIR_DEGREE, pair_design

response_ids = st.lists(st.integers(min_value=1, max_value=10**9), unique=True)
seeds = st.integers(min_value=0, max_value=2**32)


def _connected(ids: list[int], pairs: list[tuple[int, int]]) -> bool:
    neighbours: dict[int, set[int]] = {i: set() for i in ids}
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen, todo = {ids[0]}, [ids[0]]
    while todo:
        for other in neighbours[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen == set(ids)


def test_fewer_than_two_responses_get_no_pairs():
    assert pair_design([], rng=random.Random(0)) == []
    assert pair_design([7], rng=random.Random(0)) == []
    assert pair_design([7, 7], rng=random.Random(0)) == []  # the same response twice


@given(ids=response_ids.filter(lambda ids: 2 <= len(ids) <= ALL_PAIRS_UP_TO), seed=seeds)
def test_up_to_four_responses_get_every_pair_in_canonical_order(ids, seed):
    pairs = pair_design(ids, rng=random.Random(seed))
    assert pairs == list(itertools.combinations(sorted(ids), 2))


@given(ids=st.lists(st.integers(1, 10**9), min_size=5, max_size=60, unique=True), seed=seeds)
def test_above_four_each_response_is_in_four_distinct_pairs_and_the_design_is_connected(ids, seed):
    pairs = pair_design(ids, rng=random.Random(seed))
    assert all(a < b for a, b in pairs)
    assert len(set(pairs)) == len(pairs) == 2 * len(ids)
    degree = Counter(itertools.chain.from_iterable(pairs))
    assert set(degree) == set(ids)
    assert set(degree.values()) == {PAIR_DEGREE}
    assert _connected(ids, pairs)


@given(ids=st.lists(st.integers(1, 10**9), min_size=5, max_size=40, unique=True), seed=seeds)
def test_the_design_depends_on_the_seed_only_not_on_the_order_of_the_responses(ids, seed):
    first = pair_design(ids, rng=random.Random(seed))
    shuffled = ids[:]
    random.Random(seed + 1).shuffle(shuffled)
    assert pair_design(shuffled, rng=random.Random(seed)) == first


def test_different_seeds_give_different_designs():
    ids = list(range(1, 21))
    designs = {tuple(pair_design(ids, rng=random.Random(seed))) for seed in range(5)}
    assert len(designs) == 5
