from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.core.splits import split_prompts


def prompts_with_clusters(n, domains=("a", "b"), cluster_every=5):
    out = []
    for i in range(n):
        cluster = (i // 3) * 3 if i % cluster_every < 3 and cluster_every else None
        out.append((i, domains[i % len(domains)], cluster))
    return out


def test_the_split_is_seeded():
    prompts = prompts_with_clusters(200)
    a = split_prompts(prompts, test_fraction=0.2, seed=1).assignment
    assert a == split_prompts(prompts, test_fraction=0.2, seed=1).assignment
    assert a != split_prompts(prompts, test_fraction=0.2, seed=2).assignment


def test_adding_prompts_keeps_most_earlier_assignments():
    before = split_prompts(
        [(i, "a", None) for i in range(1000)], test_fraction=0.2, seed=0
    ).assignment
    after = split_prompts(
        [(i, "a", None) for i in range(1100)], test_fraction=0.2, seed=0
    ).assignment
    moved = sum(1 for i in range(1000) if before[i] != after[i])
    assert moved < 100


def test_a_cluster_spanning_a_holdout_domain_goes_wholly_to_test():
    prompts = [(1, "a", 1), (2, "b", 1), (3, "a", None), (4, "a", None)]
    result = split_prompts(prompts, test_fraction=0.0, seed=0, holdout_domains=["b"])
    assert result.assignment == {1: "test", 2: "test", 3: "train", 4: "train"}


def test_fraction_zero_and_one():
    prompts = prompts_with_clusters(50)
    assert set(split_prompts(prompts, test_fraction=0.0, seed=0).assignment.values()) == {"train"}
    assert set(split_prompts(prompts, test_fraction=1.0, seed=0).assignment.values()) == {"test"}


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=60),
    n_domains=st.integers(1, 4),
    fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_groups_stay_whole_and_domains_with_singletons_hit_their_target(
    sizes, n_domains, fraction, seed
):
    prompts = []
    pid = 0
    for g, size in enumerate(sizes):
        for _ in range(size):
            prompts.append((pid, f"d{pid % n_domains}", g if size > 1 else None))
            pid += 1
    # Enough singletons in every domain to fill any remainder.
    for _ in range(8 * n_domains):
        prompts.append((pid, f"d{pid % n_domains}", None))
        pid += 1
    result = split_prompts(prompts, test_fraction=fraction, seed=seed)
    sides_by_cluster = {}
    for prompt_id, _domain, cluster in prompts:
        if cluster is not None:
            sides_by_cluster.setdefault(cluster, set()).add(result.assignment[prompt_id])
    assert all(len(s) == 1 for s in sides_by_cluster.values())
    totals = Counter(d for _, d, _ in prompts)
    tests = Counter(d for p, d, _ in prompts if result.assignment[p] == "test")
    for domain, total in totals.items():
        assert abs(tests[domain] - fraction * total) <= 1
