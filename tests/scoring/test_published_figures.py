"""Published figures through the real path: import the files, run the aggregation, read it."""

from __future__ import annotations

import pytest

from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply
from scoring.services import aggregation_run_create
from tests.data_converters import (
    NEWSROOM_DEFINITION,
    PANDALM_DEFINITION,
    newsroom_files,
    pandalm_files,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

NEWSROOM_ORDINAL = {
    "informativeness": 0.284873,
    "relevance": 0.115121,
    "fluency": -0.015808,
    "coherence": 0.064972,
}
NEWSROOM_INTERVAL = {
    "informativeness": 0.291150,
    "relevance": 0.168433,
    "fluency": 0.026431,
    "coherence": 0.086995,
}


def test_newsroom_human_alpha_matches_judge_bench_through_import_and_run(tmp_path):
    items, judgments = newsroom_files(tmp_path)
    project, _ = project_apply(definition={"slug": "newsroom", **NEWSROOM_DEFINITION})
    items_import(project=project, source=items)
    judgments_import(project=project, source=judgments)
    run = aggregation_run_create(project=project, trigger="command")
    criteria = run.agreement["criteria"]
    assert {
        k: round(criteria[k]["alpha"]["ordinal"]["value"], 6) for k in NEWSROOM_ORDINAL
    } == NEWSROOM_ORDINAL
    assert {
        k: round(criteria[k]["alpha"]["interval"]["value"], 6) for k in NEWSROOM_INTERVAL
    } == NEWSROOM_INTERVAL
    for k in NEWSROOM_ORDINAL:
        est = criteria[k]["alpha"]["ordinal"]
        assert est["n_units"] == 420 and est["n_pairable"] == 1260
        assert est["ci_low"] < est["value"] < est["ci_high"]
    assert run.counts["likert_judgments"] == 1260 and run.counts["responses_scored"] == 420
    assert run.agreement["domains"]["news"]["criteria"]["fluency"]["alpha"][
        "value"
    ] == pytest.approx(criteria["fluency"]["alpha"]["ordinal"]["value"])


def test_pandalm_kappas_and_majority_counts_through_import_and_run(tmp_path):
    items, judgments = pandalm_files(tmp_path)
    project, _ = project_apply(definition={"slug": "pandalm", **PANDALM_DEFINITION})
    items_import(project=project, source=items, on_duplicate="keep")
    judgments_import(project=project, source=judgments)
    run = aggregation_run_create(project=project, trigger="command")
    from annotation.models import Annotator

    names = dict(Annotator.objects.filter(project=project).values_list("pk", "external_id"))
    kappas = {
        (names[p["a"]], names[p["b"]]): round(p["kappa"]["value"], 4)
        for p in run.agreement["cohen"]["pairwise"]
    }
    assert kappas == {
        ("annotator1", "annotator2"): 0.8520,
        ("annotator1", "annotator3"): 0.8789,
        ("annotator2", "annotator3"): 0.8617,
    }
    # response_a is response1 (imported first, so the smaller pk): a = "1", b = "2".
    assert run.counts["pairs_majority"] == {"tie": 105, "a": 422, "b": 472, "none": 0}
    assert round(run.agreement["pairwise"]["alpha_nominal"]["value"], 4) == 0.8642
    assert run.counts["responses_borda_only"] == 1998
