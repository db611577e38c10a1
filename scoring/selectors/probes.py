"""Reads for a scoring run's probes: the original and perturbed scores as numpy arrays."""

from __future__ import annotations

import numpy as np

from ..core.probes import PROBES
from ..models import ProbeScore, ScorerScore, ScoringRun


def probe_arrays(run: ScoringRun) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The inputs of ``core.probes.probe_effects`` for a run: the original scores of its
    sampled responses (ascending response id) and, per probe, the perturbed scores aligned
    to them (NaN where a score is missing). None unless the run's probes are done. Two
    queries."""
    if run.probe_status != ScoringRun.ProbeStatus.DONE:
        return None
    rows = list(ProbeScore.objects.filter(run=run).values_list("response_id", "probe", "score"))
    response_ids = np.array([r[0] for r in rows], dtype=np.int64)
    probes = np.array([r[1] for r in rows], dtype=object)
    values = np.array([r[2] for r in rows], dtype=np.float64)
    ids = np.unique(response_ids)
    at = np.searchsorted(ids, response_ids)
    perturbed = {}
    for probe in PROBES:
        perturbed[probe] = np.full(ids.size, np.nan)
        perturbed[probe][at[probes == probe]] = values[probes == probe]
    original = np.full(ids.size, np.nan)
    scored = np.array(
        ScorerScore.objects.filter(run=run, response_id__in=ids.tolist()).values_list(
            "response_id", "score"
        ),
        dtype=np.float64,
    ).reshape(-1, 2)
    original[np.searchsorted(ids, scored[:, 0].astype(np.int64))] = scored[:, 1]
    return original, perturbed
