"""Meta-evaluation records (DESIGN 6.3): one scoring run measured against one aggregation
run's humans, stored as a ``MetaEvaluation``; the human noise ceiling per aggregation run,
stored as a ``NoiseCeiling``. ORM -> arrays -> ``scoring.core.metaeval`` -> one JSON record.

The record's ``figures`` document (also what ``manage.py metaeval --json`` prints per
scorer and what the API serves). ``Est`` is ``scoring.core.results.Estimate.as_dict()``:
``{"value", "reason", "ci_low", "ci_high", "n_units", "n_pairable", "n_resamples"}``,
``value`` None (with ``reason``) when undefined::

    {
      "scorer": {"name", "kind", "backend", "higher_is_better", "verdicts": bool},
      "scoring_run": {"id", "scored", "total", "probe_status"},
      "aggregation_run": {"id"},
      "sides": {"source": "release" | "seeded", "release_version": int | None, "seed": int},
      "voted": Pairs | None,      # pairs with pairwise votes (strict plurality of a/b/tie)
      "derived": Pairs | None,    # score-derived pairs from human finals (Likert data)
      "correlation": {            # None for a verdict-only judge
          "final": Corr, "criteria": {criterion key: Corr},
          "system": {"pearson": Est, "kendall": Est,
                     "models": [{"model", "mean_score", "mean_human"}]},
      } | None,
      "rho_length": Est | None,   # Spearman of score with length_chars (None: verdicts)
      "tau_by_domain": {domain name: Est}, "tau_by_generator": {model name: Est},
      "probes": {probe: {"mean_change", "prefers_perturbed", "prefers_original",
                         "ties": Est, "n_excluded": int}} | None,
      "headline": {               # the leaderboard row
          "pairs": "voted" | "derived" | None,
          "accuracy": Est, "acc_eq": Est, "tau_prompt": Est, "ece": Est,
          "prefers_longer": Est, "humans_prefer_longer": Est,
          "probe_sensitivity": Est,   # mean share preferring pad / markdown / flattery
      },
    }

    Corr = {"tau_prompt": Est, "rho_prompt": Est, "tau_flat": Est, "rho_flat": Est}
    Pairs = {
      "n_pairs", "n_excluded", "n_calibration", "n_evaluation",
      "accuracy": Est,            # RewardBench pairwise accuracy over a/b-labelled pairs
      "acc_eq": {"epsilon", "calibration_acc_eq", "acc_eq": Est} | None,     # scores only
      "judge": {"accuracy", "precision", "recall", "f1": Est,
                "confusion": [[int x 3] x 3], "no_verdict": int} | None,    # verdicts only
      "calibration": {"temperature": float | None, "reason": str,
                      "raw" | "scaled" | "isotonic": Side | None} | None,  # scores only
      "length": {"scorer_prefers_longer", "humans_prefer_longer": Est,
                 "tertile_cuts": [float, float] | None,
                 "tertile_accuracy": [Est, Est, Est]} | None,               # scores only
      "by_domain": {domain name: Est}, "by_generator": {model name: Est},  # accuracy
    }
    Side = {"ece", "brier", "log_loss": Est,
            "bins": [{"lower", "upper", "count", "confidence", "accuracy"}]}

The ``NoiseCeiling.figures`` document::

    {"votes": {"value": Est, "n_annotators": int} | None,    # agreement with LOO plurality
     "likert": {"value": Est, "n_annotators": int} | None,   # Spearman with LOO mean
     "humans_prefer_longer": Est | None}
"""

from .ceiling import ceiling_figures
from .figures import scorer_figures
from .humans import Humans, humans_read
from .records import (
    latest_aggregation_run,
    latest_scoring_runs,
    metaeval_after_aggregation_run,
    metaeval_after_scoring_run,
    metaeval_compute,
    metaeval_task,
    noise_ceiling_get_or_create,
)

__all__ = [
    "Humans",
    "ceiling_figures",
    "humans_read",
    "latest_aggregation_run",
    "latest_scoring_runs",
    "metaeval_after_aggregation_run",
    "metaeval_after_scoring_run",
    "metaeval_compute",
    "metaeval_task",
    "noise_ceiling_get_or_create",
    "scorer_figures",
]
