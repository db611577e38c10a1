"""The scorer leaderboard and the scorer pages (DESIGN 6.5): personas, sorting, empty states,
charts, through the Django test client on PostgreSQL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from scoring.models import MetaEvaluation, Scorer

from .metaeval_records import (
    aggregation_done,
    ceiling_made,
    measured_project,
    scorer_measured,
    scoring_run,
)

pytestmark = pytest.mark.django_db

PAGE = "/scoring/p/demo/scorers/"


def scorer_page(name: str) -> str:
    return f"/scoring/p/demo/scorers/{name}/"


@pytest.fixture
def board(project):
    """Three measured scorers against the latest aggregation run, and the noise ceiling."""
    aggregation = aggregation_done(project)
    scorer_measured(project, aggregation, "middling", accuracy=0.7, tau=0.3, ece=0.02)
    scorer_measured(project, aggregation, "strong", accuracy=0.9, tau=0.5, ece=0.08)
    scorer_measured(project, aggregation, "weak", accuracy=0.55, tau=0.1, ece=0.05)
    ceiling_made(aggregation, votes=0.82)
    return aggregation


def order(html: str) -> list[str]:
    return re.findall(r'data-scorer-row="([^"]+)"', html)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead", 200), ("researcher", 200), ("annotator", 403), ("outsider", 404)],
)
def test_who_sees_the_leaderboard_and_a_scorer_page(persona, expected, client, board, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    assert client.get(PAGE).status_code == expected
    assert client.get(scorer_page("strong")).status_code == expected


def test_the_leaderboard_sorts_by_accuracy_best_first_by_default(client, board, lead_user):
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert order(html) == ["strong", "middling", "weak"]
    # Each figure with its CI, the ceiling as a row of its own, which pairs.
    assert '0.900</span> <span class="ci">[0.870, 0.930]' in html
    assert 'data-row="noise-ceiling"' in html and "0.820" in html
    assert ">voted</td>" in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-accuracy", ["weak", "middling", "strong"]),
        ("tau", ["strong", "middling", "weak"]),
        ("ece", ["middling", "weak", "strong"]),  # lower is better: best first
        ("-ece", ["strong", "weak", "middling"]),
        ("nonsense", ["strong", "middling", "weak"]),  # unknown: the default
    ],
)
def test_the_leaderboard_sorts_by_the_chosen_column(sort, expected, client, board, lead_user):
    client.force_login(lead_user)
    assert order(client.get(PAGE, {"sort": sort}).content.decode()) == expected


def test_a_sorted_header_links_to_the_reverse_order(client, board, lead_user):
    client.force_login(lead_user)
    html = client.get(PAGE, {"sort": "ece"}).content.decode()
    assert 'href="?sort=-ece"' in html and 'href="?sort=accuracy"' in html
    assert 'aria-sort="ascending"' in html


def test_the_leaderboard_draws_the_dot_plot_with_the_noise_ceiling(client, board, lead_user):
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 3
    assert "human noise ceiling" in svg


def test_a_project_without_scorers_says_how_to_add_one(client, project, lead_user):
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert 'data-empty="no-scorer"' in html and "scorer_apply" in html


def test_a_project_without_an_aggregation_run_says_to_aggregate(client, project, lead_user):
    scorer = Scorer.objects.create(
        name="chars", kind="metric", backend="builtin", metric="length_chars"
    )
    scoring_run(project, scorer)
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert 'data-empty="no-aggregation"' in html
    assert 'data-state="no_aggregation"' in html
    assert "aggregate the human judgments first" in html


def test_a_scorer_still_running_shows_its_progress(client, board, project, lead_user):
    scorer = Scorer.objects.create(
        name="busy", kind="metric", backend="builtin", metric="length_words"
    )
    scoring_run(project, scorer, status="running", scored=2)
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert order(html)[-1] == "busy"  # no figures: after every measured scorer
    row = html.split('data-scorer-row="busy"')[1].split("</tr>")[0]
    assert 'data-state="running"' in html
    assert "2 / 6 responses" in row and "<progress" in row
    detail = client.get(scorer_page("busy")).content.decode()
    assert 'data-state="running"' in detail and "2 / 6 responses" in detail


def test_a_finished_run_without_its_meta_evaluation_is_pending(client, board, project, lead_user):
    scorer = Scorer.objects.create(
        name="fresh", kind="metric", backend="builtin", metric="length_words"
    )
    scoring_run(project, scorer)
    never = Scorer.objects.create(
        name="idle", kind="metric", backend="builtin", metric="length_words"
    )
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert 'data-scorer-row="fresh" data-state="pending"' in html
    assert f'data-scorer-row="{never.name}" data-state="no_run"' in html


def test_a_meta_evaluation_of_an_older_aggregation_run_is_not_shown(
    client, board, project, lead_user
):
    aggregation_done(project)  # newer than the one the records were computed against
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert set(re.findall(r'data-state="([^"]+)"', html)) == {"pending"}


def test_the_scorer_page_shows_every_figure_and_chart(client, board, researcher_user):
    client.force_login(researcher_user)
    html = client.get(scorer_page("strong")).content.decode()
    for section in ("headline", "pairs-voted", "correlation", "probes", "config"):
        assert f'data-section="{section}"' in html
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    # reliability, length tertiles, domains, generators, probes
    assert len(svgs) == 5
    for svg in svgs:
        ET.fromstring(svg)
    assert "T = 2.000" in html  # the fitted temperature
    assert "ε = 0.2500" in html
    assert "gap ≤ 12 chars" in html
    assert "&lt;b&gt;code&lt;/b&gt;" in html and "<b>code</b>" not in html
    assert 'data-probe="truncate"' in html and 'data-criterion="helpfulness"' in html


def test_a_judge_page_shows_precision_recall_and_the_confusion(client, board, project, lead_user):
    scorer_measured(project, board, "gpt-judge", judge=True, accuracy=0.7107)
    client.force_login(lead_user)
    html = client.get(scorer_page("gpt-judge")).content.decode()
    assert "Macro precision" in html and "0.588" in html  # PandaLM's GPT-3.5 figure
    assert "Confusion" in html and ">28</td>" in html
    assert 'data-section="correlation"' not in html  # verdicts: no scores to correlate


def test_an_unknown_or_foreign_scorer_is_404(client, board, project, lead_user):
    from annotation.services.projects import project_create

    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    Scorer.objects.create(name="theirs", kind="metric", backend="builtin", project=other)
    client.force_login(lead_user)
    assert client.get(scorer_page("nope")).status_code == 404
    assert client.get(scorer_page("theirs")).status_code == 404


def test_a_failed_meta_evaluation_says_why(client, board, lead_user):
    MetaEvaluation.objects.filter(scoring_run__scorer__name="weak").update(
        status="failed", error="the scores have NaN"
    )
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert 'data-scorer-row="weak" data-state="metaeval_failed"' in html
    assert "the scores have NaN" in html


def test_the_lead_page_and_the_researcher_home_link_the_leaderboard(
    client, board, lead_user, researcher_user
):
    client.force_login(lead_user)
    assert PAGE in client.get("/p/demo/lead/").content.decode()
    client.force_login(researcher_user)
    assert PAGE in client.get("/").content.decode()


def test_real_computed_records_fill_the_leaderboard_and_the_scorer_page(client, project, lead_user):
    """The real path: judgments, an aggregation run, built-in scorers with their probes, and
    the meta-evaluation service's records, rendered."""
    aggregation = measured_project(project=project)
    client.force_login(lead_user)
    html = client.get(PAGE).content.decode()
    assert set(order(html)) == {"chars", "markdown"}
    assert set(re.findall(r'data-state="([^"]+)"', html)) == {"ready"}
    assert 'data-row="noise-ceiling"' in html
    assert f"aggregation run {aggregation.pk}" in html
    detail = client.get(scorer_page("chars")).content.decode()
    for section in ("headline", "pairs-voted", "pairs-derived", "correlation", "probes"):
        assert f'data-section="{section}"' in detail
    for svg in re.findall(r"<svg.*?</svg>", detail, re.S):
        ET.fromstring(svg)
    # length_chars prefers the padded text every time (DESIGN 6.4's known answer).
    pad = detail.split('data-probe="pad"')[1].split("</tr>")[0]
    assert '<td class="num"><span class="figure">1.000</span>' in pad


def test_humans_without_pairs_say_what_to_collect(client, project, lead_user):
    aggregation = aggregation_done(project)
    record = scorer_measured(project, aggregation, "chars", accuracy=None)
    figures = record.figures
    figures["voted"] = figures["derived"] = None
    figures["headline"]["pairs"] = None
    record.figures = figures
    record.save(update_fields=["figures"])
    client.force_login(lead_user)
    board = client.get(PAGE).content.decode()
    assert 'data-empty="no-pairs"' in board and "Collect more judgments" in board
    assert "undefined" in board
    detail = client.get(scorer_page("chars")).content.decode()
    assert 'data-empty="no-pairs"' in detail and "no pairs" in detail
