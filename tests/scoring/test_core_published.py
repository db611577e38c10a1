"""Published figures from ../shared/data, recomputed with scoring.core (no database)."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest

from scoring.core.disputes import majority
from scoring.core.kappa import cohen_kappa, cohen_kappa_pairs, fleiss_kappa
from scoring.core.krippendorff import alpha_matrix, value_counts_from_matrix
from tests.conftest import shared_data

NEWSROOM = {
    "Informativeness": {"ordinal": 0.284873, "interval": 0.291150, "nominal": 0.076502},
    "Relevance": {"ordinal": 0.115121, "interval": 0.168433, "nominal": 0.064690},
    "Fluency": {"ordinal": -0.015808, "interval": 0.026431, "nominal": -0.009508},
    "Coherence": {"ordinal": 0.064972, "interval": 0.086995, "nominal": 0.006099},
}


def _newsroom_matrix(criterion: str) -> np.ndarray:
    data = json.loads(shared_data("newsroom", "newsroom.json").read_text())
    return np.array(
        [inst["annotations"][criterion]["individual_human_scores"] for inst in data["instances"]],
        dtype=float,
    ).T


@pytest.mark.parametrize("criterion", list(NEWSROOM))
def test_newsroom_alpha_matches_judge_bench_at_every_level(criterion):
    matrix = _newsroom_matrix(criterion)
    for level, published in NEWSROOM[criterion].items():
        assert round(alpha_matrix(matrix, level).value, 6) == published


def _pandalm() -> np.ndarray:
    records = json.loads(shared_data("pandalm", "testset-v1.json").read_text())
    return np.array([[r["annotator1"], r["annotator2"], r["annotator3"]] for r in records])


def test_pandalm_cohen_kappas_match_the_published_figures():
    votes = _pandalm()
    kappas = [cohen_kappa(votes[:, i], votes[:, j], 3).value for i, j in ((0, 1), (0, 2), (1, 2))]
    assert [round(k, 4) for k in kappas] == [0.8520, 0.8789, 0.8617]
    assert [round(k, 2) for k in kappas] == [0.85, 0.88, 0.86]  # the README's figures
    n = votes.shape[0]
    pairs = cohen_kappa_pairs(
        np.tile(np.arange(n), 3), np.repeat([0, 1, 2], n), votes.T.ravel().astype(float), 3
    )
    assert [round(p.kappa.value, 4) for p in pairs] == [0.8520, 0.8789, 0.8617]


def test_pandalm_majority_counts_match_the_published_distribution():
    votes = _pandalm()
    counts = np.stack([(votes == k).sum(axis=1) for k in range(3)], axis=1)
    winners = majority(counts)
    assert (winners >= 0).all()
    assert np.bincount(winners, minlength=3).tolist() == [105, 422, 472]
    assert round(alpha_matrix(votes.T.astype(float), "nominal").value, 4) == 0.8642
    assert fleiss_kappa(counts).value == pytest.approx(0.8642, abs=5e-4)


def test_recipe_eval_with_uneven_ratings_per_unit_equals_the_package():
    data = json.loads(shared_data("recipe-eval", "meta_evaluation_recipes.json").read_text())
    instances = data["instances"]
    metric = next(iter(instances[0]["annotations"]))
    scores = [inst["annotations"][metric]["individual_human_scores"] for inst in instances]
    width = max(len(s) for s in scores)
    matrix = np.full((width, len(scores)), np.nan)
    for u, s in enumerate(scores):
        matrix[: len(s), u] = s
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        assert alpha_matrix(matrix, level).value == pytest.approx(expected, abs=1e-9)


def test_dices_safety_labels_nominal_alpha_equals_the_package():
    data = json.loads(shared_data("dices", "dices_350_crowdsourced.json").read_text())
    codes = {"No": 0.0, "Yes": 1.0, "Unsure": 2.0}
    labels = [
        [codes[x] for x in inst["annotations"]["safety"]["individual_human_scores"]]
        for inst in data["instances"]
    ]
    matrix = np.array(labels, dtype=float).T
    counts, dom = value_counts_from_matrix(matrix)
    assert counts.shape == (350, 3)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert alpha_matrix(matrix, "nominal").value == pytest.approx(expected, abs=1e-9)
