"""Length-sorted batches under a token budget: pure functions, no torch."""

from __future__ import annotations

from collections.abc import Sequence


def token_budget_batches(
    lengths: Sequence[int], budget: int, *, equal_length: bool = False
) -> list[list[int]]:
    """Indices of ``lengths`` cut into batches, shortest inputs first.

    A batch's cost is its padded size: its size times its longest input. Sorting by length
    first keeps the padding small (each batch holds inputs of similar length); a batch
    grows while its padded size stays within ``budget``, and always holds at least one
    input (an input longer than the budget goes alone). With ``equal_length`` a batch only
    holds inputs of one length (no padding at all: for models that cannot pool by mask).
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending: the newcomer is the longest
        if current and (
            (len(current) + 1) * longest > budget
            or (equal_length and lengths[current[0]] != longest)
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def padding_efficiency(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Real tokens / padded tokens over the batches (1.0 = no padding)."""
    real = sum(lengths[i] for batch in batches for i in batch)
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches if batch)
    return real / padded if padded else 1.0
