"""Train/test splits for a release (DESIGN 7.2). Pure Python, no Django.

Leak-free: the unit of assignment is a *group*, the near-duplicate cluster of a prompt when
it has one and the prompt itself otherwise, so all responses of a prompt and every paraphrase
of it land on the same side.

Stratified: the test side should hold ``test_fraction`` of each domain's prompts. Groups are
visited largest first (ties in a seeded pseudo-random order), and a group goes to test when
it overshoots no domain's target by more than half a prompt and lowers the squared distance between every domain's test count and its target; a repair
pass then moves small groups in or out while that still lowers it. The singleton groups fill
the remainder, so a domain with enough single prompts
ends within half a prompt of its target (one prompt at most, whatever the rounding); a domain
made only of big clusters is as close as its cluster sizes allow. Clusters that span domains
are counted in each of their domains.

Seeded without a shared RNG stream: a group's place in the order is sha256(seed, group key),
so adding prompts to a project does not reshuffle the groups that were there before.

Holdout domains go wholly to test, and with them any cluster that touches them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

TRAIN = "train"
TEST = "test"


@dataclass(frozen=True)
class SplitResult:
    # prompt id -> "train" | "test"
    assignment: dict[int, str]
    # domain -> {"prompts", "test", "target"}: prompt counts and the test target
    per_domain: dict[str, dict[str, float]]
    n_groups: int


def group_key(prompt_id: int, cluster: int | None) -> str:
    return f"c{cluster}" if cluster is not None else f"p{prompt_id}"


def _order_key(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()


def split_prompts(
    prompts: Iterable[tuple[int, str, int | None]],
    *,
    test_fraction: float,
    seed: int,
    holdout_domains: Iterable[str] = (),
) -> SplitResult:
    """Assign each prompt (id, domain, near_dup_cluster) to train or test.

    ``test_fraction`` in [0, 1]; 0 puts everything not held out in train, 1 everything in test.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    holdout = set(holdout_domains)
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    domain_total: dict[str, int] = defaultdict(int)
    for prompt_id, domain, cluster in prompts:
        groups[group_key(prompt_id, cluster)].append((prompt_id, domain))
        domain_total[domain] += 1

    target = {d: (float(n) if d in holdout else test_fraction * n) for d, n in domain_total.items()}
    test_count: dict[str, int] = defaultdict(int)
    to_test: set[str] = set()

    # Holdout first: every group touching a holdout domain goes to test.
    for key, members in groups.items():
        if any(domain in holdout for _, domain in members):
            to_test.add(key)
            for _, domain in members:
                test_count[domain] += 1

    order = sorted(
        (key for key in groups if key not in to_test),
        key=lambda key: (-len(groups[key]), _order_key(seed, key)),
    )
    counts_of = {key: Counter(domain for _, domain in groups[key]) for key in order}

    def delta(key: str, sign: int) -> float:
        """Change in sum_d (test_d - target_d)^2 if the group moved in (+1) or out (-1)."""
        return sum(
            (test_count[d] + sign * c - target[d]) ** 2 - (test_count[d] - target[d]) ** 2
            for d, c in counts_of[key].items()
        )

    def move(key: str, sign: int) -> None:
        (to_test.add if sign > 0 else to_test.discard)(key)
        for d, c in counts_of[key].items():
            test_count[d] += sign * c

    for key in order:
        # Never overshoot a domain by more than rounding: a big cluster that does not fit
        # stays in train and the smaller groups after it fill the gap.
        fits = all(test_count[d] + c <= target[d] + 0.5 for d, c in counts_of[key].items())
        if fits and delta(key, +1) < 0:
            move(key, +1)
    # Repair: a cluster spanning domains can overshoot one domain to help another; small
    # groups moved in or out afterwards bring every domain back to its target.
    for _ in range(3):
        changed = False
        for key in reversed(order):
            sign = -1 if key in to_test else +1
            if delta(key, sign) < -1e-9:
                move(key, sign)
                changed = True
        if not changed:
            break

    assignment = {
        prompt_id: (TEST if key in to_test else TRAIN)
        for key, members in groups.items()
        for prompt_id, _ in members
    }
    per_domain = {
        d: {"prompts": domain_total[d], "test": test_count[d], "target": target[d]}
        for d in sorted(domain_total)
    }
    return SplitResult(assignment=assignment, per_domain=per_domain, n_groups=len(groups))
