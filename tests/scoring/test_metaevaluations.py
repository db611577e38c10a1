"""Meta-evaluation records (DESIGN 6.3) through the real path: judgments imported or made,
an aggregation run, scores imported or computed, then the record, the command and the task."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation.models import Prompt, Response
from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply, project_create
from scoring.metaevaluations import metaeval_compute, metaeval_task
from scoring.models import MetaEvaluation, NoiseCeiling, Scorer, ScoringRun
from scoring.services import aggregation_run_create
from tests.data_converters import (
    PANDALM_DEFINITION,
    PANDALM_JUDGES,
    pandalm_files,
    pandalm_verdict_rows,
)

from ..waiting import wait_until
from .factories import rate, raters, vote

pytestmark = pytest.mark.django_db

CRITERIA = ("usefulness", "factuality", "safety", "alignment")


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _import_scores(tmp_path, project, scorer, rows, name=None):
    if not Scorer.objects.filter(name=scorer).exists():
        Scorer.objects.create(name=scorer, kind="judge", backend="external")
    path = _jsonl(tmp_path / f"{name or scorer}.jsonl", rows)
    call_command("import_scores", str(path), "--project", project.slug, "--scorer", scorer)
    return ScoringRun.objects.filter(scorer__name=scorer).latest("id")


def _metaeval_json(slug: str, *extra: str) -> dict:
    out = StringIO()
    call_command("metaeval", "--project", slug, "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


# --- PandaLM's published judge figures through the real path ---------------------------


@pytest.mark.slow
def test_pandalm_judges_reproduce_the_published_figures_through_import_aggregate_and_metaeval(
    tmp_path,
):
    items, judgments = pandalm_files(tmp_path)
    project, _ = project_apply(definition={"slug": "pandalm", **PANDALM_DEFINITION})
    items_import(project=project, source=items, on_duplicate="keep")
    judgments_import(project=project, source=judgments)
    aggregation_run_create(project=project, trigger="command")
    for name in PANDALM_JUDGES:
        rows = pandalm_verdict_rows(name)
        _import_scores(tmp_path, project, name, rows)

    document = _metaeval_json("pandalm")
    by_name = {s["scorer"]: s["figures"] for s in document["scorers"]}
    published = {
        "gpt-3-5-turbo": (0.7107, 0.5879, 0.5736, 0.5755),
        "pandalm-7b": (0.6677, 0.5738, 0.5750, 0.5743),
    }
    for name, figures in published.items():
        judge = by_name[name]["voted"]["judge"]
        got = tuple(round(judge[k]["value"], 4) for k in ("accuracy", "precision", "recall", "f1"))
        assert got == figures, name
        assert (
            judge["accuracy"]["ci_low"] < judge["accuracy"]["value"] < judge["accuracy"]["ci_high"]
        )
        assert by_name[name]["voted"]["n_pairs"] == 999
        # The leaderboard's acc_eq for a judge is its three-class accuracy.
        assert by_name[name]["headline"]["acc_eq"]["value"] == judge["accuracy"]["value"]
    ceiling = document["noise_ceiling"]["votes"]
    assert ceiling["n_annotators"] == 3 and 0.85 < ceiling["value"]["value"] < 1.0
    assert MetaEvaluation.objects.filter(project=project).count() == 2


# --- A constructed project with known answers -------------------------------------------


def _known_project(slug="known", *, n_prompts=24, seed=3):
    """Prompts with three responses of distinct quality q (0, 1, 2), rated by three raters
    at 2 + q (+1 for one rater on some responses) on every criterion, and voted by three
    raters for the better one (one dissent on some pairs). Lengths grow with quality on
    even prompts and shrink on odd ones, so length says nothing on its own."""
    project = project_create(
        slug=slug,
        name=slug,
        domains=[{"name": "code"}, {"name": "chat"}],
        seed=seed,
        likert_quorum=3,
        pairwise_quorum=3,
    )
    code, chat = project.domains.order_by("name")
    people = raters(project, 3)
    rng = np.random.default_rng(seed)
    for p in range(n_prompts):
        prompt = Prompt.objects.create(
            project=project,
            domain=code if p % 2 else chat,
            text=f"question {p}",
            external_id=f"q{p}",
            content_hash=f"{slug}-q{p}",
        )
        responses = []
        for q in range(3):
            length = 10 + 10 * (q if p % 2 == 0 else 2 - q)
            responses.append(
                Response.objects.create(
                    project=project,
                    prompt=prompt,
                    text="x" * length,
                    external_id=f"q{p}-r{q}",
                    content_hash=f"{slug}-q{p}-r{q}",
                    model_name=f"model-{q}",
                )
            )
        for q, response in enumerate(responses):
            for k, person in enumerate(people):
                point = 1 + q + (1 if k == 0 and rng.random() < 0.3 else 0)
                rate(response, person, **dict.fromkeys(CRITERIA, point))
        for worse, better in ((0, 1), (1, 2), (0, 2)):
            for k, person in enumerate(people):
                dissent = k == 2 and rng.random() < 0.2
                w, loser = (
                    (responses[worse], responses[better])
                    if dissent
                    else (
                        responses[better],
                        responses[worse],
                    )
                )
                vote(w, loser, person)
    return project


def _finals(run) -> dict[str, float]:
    return dict(run.scores.values_list("response__external_id", "final"))


def test_a_scorer_equal_to_the_finals_is_perfect_and_its_reverse_perfectly_wrong(tmp_path):
    project = _known_project()
    run = aggregation_run_create(project=project, trigger="command")
    finals = _finals(run)
    oracle = _import_scores(
        tmp_path, project, "oracle", [{"response_id": k, "score": v} for k, v in finals.items()]
    )
    reverse = _import_scores(
        tmp_path, project, "reverse", [{"response_id": k, "score": -v} for k, v in finals.items()]
    )
    good = metaeval_compute(scoring_run=oracle, aggregation_run=run).figures
    bad = metaeval_compute(scoring_run=reverse, aggregation_run=run).figures
    assert good["headline"]["pairs"] == "voted"
    assert good["voted"]["accuracy"]["value"] == 1.0
    assert good["correlation"]["final"]["tau_prompt"]["value"] == pytest.approx(1.0)
    assert good["derived"]["accuracy"]["value"] == 1.0
    assert bad["voted"]["accuracy"]["value"] == 0.0
    assert bad["correlation"]["final"]["tau_prompt"]["value"] == pytest.approx(-1.0)
    # Per criterion too: every criterion got the same points, so its mean orders like the final.
    for key in CRITERIA:
        assert good["correlation"]["criteria"][key]["tau_prompt"]["value"] == pytest.approx(1.0)
    # Breakdowns name the project's domains and generators.
    assert set(good["voted"]["by_domain"]) == {"chat", "code"}
    assert set(good["voted"]["by_generator"]) == {"model-0", "model-1", "model-2"}
    assert set(good["tau_by_domain"]) == {"chat", "code"}
    # Length: the scorer prefers the longer response exactly where humans' choices are longer.
    assert good["headline"]["prefers_longer"]["value"] == pytest.approx(0.5)
    assert good["sides"]["source"] == "seeded"


def test_rank_figures_survive_a_monotone_transform_but_raw_calibration_does_not(tmp_path):
    project = _known_project("monotone")
    run = aggregation_run_create(project=project, trigger="command")
    finals = _finals(run)
    plain = _import_scores(
        tmp_path, project, "plain", [{"response_id": k, "score": v} for k, v in finals.items()]
    )
    cubed = _import_scores(
        tmp_path,
        project,
        "cubed",
        [{"response_id": k, "score": 5 * v**3 + 1} for k, v in finals.items()],
    )
    a = metaeval_compute(scoring_run=plain, aggregation_run=run).figures
    b = metaeval_compute(scoring_run=cubed, aggregation_run=run).figures
    for path in (("voted", "accuracy"), ("derived", "accuracy")):
        assert a[path[0]][path[1]]["value"] == b[path[0]][path[1]]["value"]
    assert a["correlation"]["final"]["tau_prompt"] == b["correlation"]["final"]["tau_prompt"]
    assert a["correlation"]["final"]["rho_prompt"] == b["correlation"]["final"]["rho_prompt"]
    raw_a = a["voted"]["calibration"]["raw"]["ece"]["value"]
    raw_b = b["voted"]["calibration"]["raw"]["ece"]["value"]
    assert raw_a != pytest.approx(raw_b)


def test_recomputing_replaces_the_record_in_place_with_identical_figures(tmp_path):
    project = _known_project("again")
    run = aggregation_run_create(project=project, trigger="command")
    scores = [{"response_id": k, "score": v} for k, v in _finals(run).items()]
    scoring = _import_scores(tmp_path, project, "again-scorer", scores)
    first = metaeval_compute(scoring_run=scoring, aggregation_run=run)
    second = metaeval_compute(scoring_run=scoring, aggregation_run=run)
    assert first.pk == second.pk and MetaEvaluation.objects.count() == 1
    assert first.figures == second.figures and first.config == second.config
    assert second.config["seed"] == project.seed and second.config["n_resamples"] == 1000
    assert NoiseCeiling.objects.filter(aggregation_run=run).count() == 1


def test_the_noise_ceiling_is_the_leave_one_out_agreement_of_the_raters(tmp_path):
    project = _known_project("ceiling")
    run = aggregation_run_create(project=project, trigger="command")
    scoring = _import_scores(
        tmp_path, project, "c", [{"response_id": k, "score": v} for k, v in _finals(run).items()]
    )
    metaeval_compute(scoring_run=scoring, aggregation_run=run)
    figures = NoiseCeiling.objects.get(aggregation_run=run).figures
    # Raters 0 and 1 always vote for the better response; rater 2 dissents on some pairs.
    # Leave-one-out: 0 and 1 each see the other plus 2, so the plurality may be missing
    # (one each way) where 2 dissents; 2 sees 0 and 1 agreeing and is wrong where it dissents.
    from annotation.models import PairwiseJudgment

    votes = list(
        PairwiseJudgment.objects.filter(prompt__project=project).values_list(
            "response_a_id", "response_b_id", "annotator_id", "left_id"
        )
    )
    by_pair: dict = {}
    for a, b, annotator, left in votes:
        by_pair.setdefault((a, b), {})[annotator] = left
    agree = counted = 0
    for choices in by_pair.values():
        for annotator, pick in choices.items():
            others = [c for k, c in choices.items() if k != annotator]
            if others[0] == others[1]:  # the others have a strict plurality
                counted += 1
                agree += pick == others[0]
    assert figures["votes"]["value"]["value"] == pytest.approx(agree / counted)
    assert figures["likert"]["value"]["value"] > 0.5


def test_a_judge_without_scores_gets_verdict_figures_and_no_correlation(tmp_path):
    project = _known_project("verdicts")
    run = aggregation_run_create(project=project, trigger="command")
    rows = []
    for prompt in Prompt.objects.filter(project=project):
        r = list(prompt.responses.order_by("pk"))
        rows.append(
            {
                "kind": "pairwise",
                "prompt_id": prompt.external_id,
                "response_a": r[0].external_id,
                "response_b": r[2].external_id,
                "choice": "b",
            }
        )
    judge = _import_scores(tmp_path, project, "judge", rows)
    figures = metaeval_compute(scoring_run=judge, aggregation_run=run).figures
    assert figures["scorer"]["verdicts"] is True
    assert figures["correlation"] is None and figures["probes"] is None
    # Every verdict names the better response (r2 > r0), but the judge gave only one pair
    # of three per prompt; the others have no verdict.
    assert figures["voted"]["accuracy"]["value"] == 1.0
    assert figures["voted"]["judge"]["no_verdict"] == 2 * 24
    assert figures["headline"]["tau_prompt"]["value"] is None


def test_scores_without_human_pairs_are_undefined_with_a_reason(tmp_path):
    project = project_create(slug="lonely", name="lonely", domains=[{"name": "general"}])
    prompt = Prompt.objects.create(
        project=project,
        domain=project.domains.get(),
        text="q",
        external_id="q",
        content_hash="lonely-q",
    )
    response = Response.objects.create(
        project=project, prompt=prompt, text="a", external_id="r", content_hash="lonely-r"
    )
    (person,) = raters(project, 1)
    rate(response, person, **dict.fromkeys(CRITERIA, 3))
    run = aggregation_run_create(project=project, trigger="command")
    scoring = _import_scores(tmp_path, project, "lonely", [{"response_id": "r", "score": 1.0}])
    figures = metaeval_compute(scoring_run=scoring, aggregation_run=run).figures
    assert figures["voted"] is None and figures["headline"]["pairs"] is None
    assert figures["headline"]["accuracy"]["value"] is None
    assert "no human pairs" in figures["headline"]["accuracy"]["reason"]


# --- The command -------------------------------------------------------------------------


def test_the_command_prints_one_row_per_scorer_and_the_ceiling(tmp_path):
    project = _known_project("table")
    run = aggregation_run_create(project=project, trigger="command")
    finals = _finals(run)
    for name, sign in (("up", 1), ("down", -1)):
        _import_scores(
            tmp_path,
            project,
            name,
            [{"response_id": k, "score": sign * v} for k, v in finals.items()],
        )
    out, err = StringIO(), StringIO()
    call_command("metaeval", "--project", "table", "--resamples", "200", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    rows = {line.split()[0]: line for line in lines[2:] if line.split()}
    assert rows["up"].split()[3] == "1.000" and rows["down"].split()[3] == "0.000"
    assert any(line.startswith("human noise ceiling") for line in lines)
    assert "[2/2]" in err.getvalue()
    one = _metaeval_json("table", "--scorer", "down", "--resamples", "0")
    assert [s["scorer"] for s in one["scorers"]] == ["down"]
    assert one["scorers"][0]["figures"]["voted"]["accuracy"]["ci_low"] is None


def test_the_command_says_what_is_missing(tmp_path):
    with pytest.raises(CommandError, match="no project with slug 'nope'"):
        call_command("metaeval", "--project", "nope")
    project = _known_project("missing", n_prompts=2)
    with pytest.raises(CommandError, match="manage.py aggregate --project missing"):
        call_command("metaeval", "--project", "missing")
    aggregation_run_create(project=project, trigger="command")
    with pytest.raises(CommandError, match="no finished scoring run"):
        call_command("metaeval", "--project", "missing")


# --- The task ------------------------------------------------------------------------


def test_the_task_measures_every_scorers_latest_run_and_skips_a_superseded_aggregation(tmp_path):
    project = _known_project("task")
    first = aggregation_run_create(project=project, trigger="command")
    scores = [{"response_id": k, "score": v} for k, v in _finals(first).items()]
    scoring = _import_scores(tmp_path, project, "t", scores)
    assert metaeval_task(scoring_run_id=scoring.pk, aggregation_run_id=None)["records"] == 1
    (person,) = raters(project, 1)
    rate(Response.objects.filter(project=project).first(), person, **dict.fromkeys(CRITERIA, 1))
    second = aggregation_run_create(project=project, trigger="command")
    assert second.pk != first.pk
    assert metaeval_task(scoring_run_id=None, aggregation_run_id=first.pk)["status"] == "superseded"
    result = metaeval_task(scoring_run_id=None, aggregation_run_id=second.pk)
    assert result == {"aggregation_run_id": second.pk, "records": 1, "status": "done"}
    assert MetaEvaluation.objects.filter(aggregation_run=second, scoring_run=scoring).exists()


@pytest.mark.slow
def test_a_finished_aggregation_run_is_meta_evaluated_by_a_real_worker(
    celery_worker, worker_closes_its_connection, tmp_path
):
    project = _known_project("worker", n_prompts=8)
    first = aggregation_run_create(project=project, trigger="command")
    _import_scores(
        tmp_path, project, "w", [{"response_id": k, "score": v} for k, v in _finals(first).items()]
    )
    # The import queued the scoring run's meta-evaluation against the first run.
    wait_until(
        lambda: MetaEvaluation.objects.filter(aggregation_run=first).exists(),
        "the imported scores measured against the first run",
    )
    (person,) = raters(project, 1)
    rate(Response.objects.filter(project=project).first(), person, **dict.fromkeys(CRITERIA, 1))
    second = aggregation_run_create(project=project, trigger="command")
    record = wait_until(
        lambda: MetaEvaluation.objects.filter(aggregation_run=second).first(),
        "the scorer measured against the new run",
    )
    assert record.status == "done" and record.figures["aggregation_run"]["id"] == second.pk


def test_a_length_scorer_has_spearman_one_with_length_and_always_prefers_longer(tmp_path):
    project = _known_project("length")
    run = aggregation_run_create(project=project, trigger="command")
    rows = [
        {"response_id": r.external_id, "score": float(len(r.text))}
        for r in Response.objects.filter(project=project)
    ]
    scoring = _import_scores(tmp_path, project, "chars", rows)
    figures = metaeval_compute(scoring_run=scoring, aggregation_run=run).figures
    assert figures["rho_length"]["value"] == pytest.approx(1.0)
    assert figures["headline"]["prefers_longer"]["value"] == 1.0


def test_a_scoring_run_of_a_release_calibrates_on_its_train_side_and_evaluates_on_test(
    tmp_path, settings
):
    from exports.services.build import release_build, release_request
    from scoring.core.splits import TRAIN, split_prompts
    from scoring.selectors import run_prompts

    settings.EXPORT_DIR = tmp_path / "releases"
    project = _known_project("released", n_prompts=20)
    run = aggregation_run_create(project=project, trigger="command")
    release = release_build(release=release_request(project=project, run=run, seed=11))
    assert release.status == "ready"
    Scorer.objects.create(name="chars", kind="metric", backend="builtin", metric="length_chars")
    call_command(
        "score", "--project", "released", "--scorer", "chars", "--release", f"v{release.version}",
        "--foreground", stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    scoring = ScoringRun.objects.get(scorer__name="chars")
    assert scoring.release_version == release.version
    record = metaeval_compute(scoring_run=scoring, aggregation_run=run)
    sides = record.figures["sides"]
    assert sides == {"source": "release", "release_version": release.version, "seed": 11}
    split = split_prompts(run_prompts(run=run), test_fraction=release.test_fraction, seed=11)
    train = sum(1 for side in split.assignment.values() if side == TRAIN)
    assert record.counts["calibration_prompts"] == train
    voted = record.figures["voted"]
    assert voted["n_calibration"] == 3 * train
    assert voted["n_evaluation"] == 3 * (20 - train)


def _close(a, b, path=""):
    """Equal figures documents, floats to 1e-12 (one wide product sums in another order)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and b is not None:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), path
    else:
        assert a == b, path


def test_the_batched_figures_equal_one_product_per_figure(tmp_path):
    from scoring.metaevaluations import humans_read
    from scoring.metaevaluations.figures import _reads, _scorer_figures, scorer_figures

    project = _known_project("passes")
    run = aggregation_run_create(project=project, trigger="command")
    finals = _finals(run)
    scoring = _import_scores(
        tmp_path, project, "p", [{"response_id": k, "score": 3 * v} for k, v in finals.items()]
    )
    humans = humans_read(run, n_resamples=300)
    batched = scorer_figures(humans, scoring)
    each = _scorer_figures(humans, scoring, _reads(humans, scoring), None)
    assert batched[0]["voted"]["accuracy"]["ci_low"] is not None
    assert batched[0]["voted"]["calibration"]["scaled"]["ece"]["ci_high"] is not None
    _close(batched[0], each[0])
    assert batched[1:] == each[1:]
