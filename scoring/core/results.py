"""The result type every agreement statistic returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    """One agreement figure with its bootstrap confidence interval.

    ``value`` is None when the statistic is undefined for the input; ``reason`` then says why
    in words a lead can act on ("fewer than two pairable values", ...). Undefined is never
    reported as 0 or 1: tools that did so (INCEpTION's 1.0 for coders who shared nothing)
    are why this type exists.

    n_units: units that contributed (for alpha: units with >= 2 values).
    n_pairable: values in those units (Krippendorff's n..).
    """

    value: float | None
    reason: str = ""
    ci_low: float | None = None
    ci_high: float | None = None
    n_units: int = 0
    n_pairable: int = 0
    n_resamples: int = 0

    @property
    def defined(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict:
        return asdict(self)


def undefined(reason: str, *, n_units: int = 0, n_pairable: int = 0) -> Estimate:
    return Estimate(value=None, reason=reason, n_units=n_units, n_pairable=n_pairable)
