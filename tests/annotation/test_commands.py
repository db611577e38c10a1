import json

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Project, Prompt

pytestmark = pytest.mark.django_db


def test_project_apply_creates_then_updates_and_prints_json(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "slug": "helpful",
                "name": "Helpful",
                "domains": [{"name": "code", "target_share": 1.0}],
            }
        )
    )
    call_command("project_apply", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["created"] and out["project"] == "helpful"
    assert [c["key"] for c in out["criteria"]] == [
        "usefulness",
        "factuality",
        "safety",
        "alignment",
    ]
    path.write_text(json.dumps({"slug": "helpful", "name": "Helpful v2"}))
    call_command("project_apply", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert not out["created"] and Project.objects.get(slug="helpful").name == "Helpful v2"


def test_project_apply_fails_with_one_line_naming_the_problem(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"slug": "w", "criteria": [{"key": "a", "weight": 0.3}]}))
    with pytest.raises(CommandError) as exc:
        call_command("project_apply", str(path))
    assert str(exc.value) == "project rejected, nothing was written (1 problem):"
    assert (
        "field 'criteria.weight': weights must sum to 1, these sum to 0.3"
        in capsys.readouterr().err
    )
    assert not Project.objects.exists()


def test_import_items_rejects_a_bad_file_and_reports_json(project, tmp_path, capsys):
    path = tmp_path / "items.jsonl"
    path.write_text('{"prompt_id": "x", "prompt": "Hi", "domain": "general"}\nnot json\n')
    with pytest.raises(CommandError):
        call_command("import_items", str(path), "--project", project.slug, "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["problems"][0]["line"] == 2
    assert not Prompt.objects.exists()


def test_import_commands_name_an_unknown_project(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text("")
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("import_items", str(path), "--project", "nope")


def test_seed_demo_is_idempotent_and_realistic(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)
    assert first["prompts"] == second["prompts"] >= 60 and second["new_prompts"] == 0
    project = Project.objects.get(slug="demo")
    assert project.domains.count() >= 5
    counts = [p.responses.count() for p in project.prompts.all()]
    assert min(counts) >= 2 and max(counts) <= 4
    assert {u["role"] for u in second["users"]} >= {"lead", "annotator", "researcher"}
    # Three imported raters judged part of the project; the rest is left for the annotators.
    from annotation.models import LikertJudgment, Task

    assert second["judgments"] == first["judgments"] > 0
    raters = set(LikertJudgment.objects.values_list("annotator__external_id", flat=True))
    assert raters == {"demo-rater-1", "demo-rater-2", "demo-rater-3"}
    assert Task.objects.filter(project=project, kind="likert", done_count__lt=3).exists()


def test_seed_demo_imports_its_data_file_and_labels_every_point(settings, capsys):
    from annotation.demo import ITEMS_PATH

    settings.DEBUG = True
    call_command("seed_demo", "--json")
    result = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in ITEMS_PATH.read_text().splitlines()]
    assert result["prompts"] == len(lines) == 60
    assert result["responses"] == sum(len(line["responses"]) for line in lines)
    project = Project.objects.get(slug="demo")
    assert project.guidelines.startswith("# How to rate")
    for criterion in project.criteria.all():
        labels = criterion.point_labels
        assert sorted(labels) == [str(p) for p in criterion.points], criterion.key
        assert all(label.strip() for label in labels.values()), criterion.key
    # One demo response is an empty output, left for the demo annotators to see.
    assert project.responses.filter(text="").count() == 1


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published passwords"):
        call_command("seed_demo")
