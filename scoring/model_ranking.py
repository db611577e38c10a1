"""The Arena-style model ranking of an aggregation run (DESIGN 5): every pairwise judgment
the run read is a game between the generator models of its two responses
(``Response.model_name``), fitted by ``scoring.core.bradley_terry.model_ranking`` with
bootstrap CIs over prompts from the project's seed.

Stored on the run (``AggregationRun.model_ranking``), shown on the lead's dashboard and
copied into every release's manifest and dataset card. When no ranking exists the record
says so: ``defined`` false and a ``reason`` a person can act on.
"""

from __future__ import annotations

import numpy as np

from .core import bradley_terry
from .core.aggregate import A_WINS, B_WINS, TIE, AggregationInput

# The bootstrap stream of the ranking, apart from the aggregation's (0, 1, 2, 1000 + domain).
STREAM_MODEL_RANKING = 3

NO_PAIRWISE = "no pairwise judgments in this run: the ranking needs votes between responses"
NO_MODEL_NAMES = (
    "no pairwise judgment compares two responses that both name their model: import "
    "responses with a `model` field to rank generator models"
)
NOT_RECORDED = "this run was made before model rankings were recorded; run the aggregation again"


def undefined_ranking(reason: str, **counts) -> dict:
    return {
        "method": "bradley_terry",
        "defined": False,
        "reason": reason,
        "players": [],
        **counts,
    }


def run_model_ranking(inp: AggregationInput, model_names: np.ndarray) -> dict:
    """The ranking of ``inp``'s pairwise judgments, ``model_names`` aligned with
    ``inp.response_ids`` ("" where a response names no model). Judgments with a response
    that names no model are left out and counted (``n_judgments_without_model``); judgments
    between two responses of one model are dropped by the fit (``n_same_player``)."""
    n_judgments = int(inp.pair_a.size)
    if n_judgments == 0:
        return undefined_ranking(NO_PAIRWISE, n_judgments=0, n_judgments_without_model=0)
    pos_a = np.searchsorted(inp.response_ids, inp.pair_a)
    pos_b = np.searchsorted(inp.response_ids, inp.pair_b)
    name_a, name_b = model_names[pos_a], model_names[pos_b]
    named = (name_a != "") & (name_b != "")
    counts = {
        "n_judgments": n_judgments,
        "n_judgments_without_model": int((~named).sum()),
    }
    if not named.any():
        return undefined_ranking(NO_MODEL_NAMES, **counts)
    players = sorted({*name_a[named].tolist(), *name_b[named].tolist()})
    index = {name: i for i, name in enumerate(players)}
    outcome = inp.pair_outcomes[named]
    ranking = bradley_terry.model_ranking(
        inp.response_prompts[pos_a[named]],
        np.array([index[n] for n in name_a[named]], dtype=np.int64),
        np.array([index[n] for n in name_b[named]], dtype=np.int64),
        outcome == A_WINS,
        outcome == B_WINS,
        outcome == TIE,
        players,
        rng=np.random.default_rng([inp.seed & 0xFFFFFFFFFFFFFFFF, STREAM_MODEL_RANKING]),
        n_resamples=inp.n_resamples,
    )
    out = ranking.as_dict()
    defined = bool(ranking.order)
    reason = ranking.reason or (
        ""
        if defined
        else "no two different models were compared: every vote is between responses of one model"
    )
    return {**out, **counts, "defined": defined, "reason": reason, "order": ranking.order}
