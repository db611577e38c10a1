import io
import json

import pytest

from annotation.errors import ValidationProblems
from annotation.models import (
    Annotator,
    ImportBatch,
    LikertJudgment,
    PairwiseJudgment,
    Prompt,
    Response,
)
from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply, project_create
from tests.data_converters import (
    NEWSROOM_DEFINITION,
    PANDALM_DEFINITION,
    newsroom_files,
    pandalm_files,
)

pytestmark = pytest.mark.django_db


def jsonl(*rows) -> io.BytesIO:
    return io.BytesIO(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()
    )


def item(pid, text="What is the capital of France?", domain="general", responses=None):
    return {
        "prompt_id": pid,
        "prompt": text,
        "domain": domain,
        "responses": responses
        if responses is not None
        else [{"response_id": f"{pid}-r1", "text": "Paris."}],
    }


def nothing_written():
    return not (
        Prompt.objects.exists()
        or Response.objects.exists()
        or LikertJudgment.objects.exists()
        or PairwiseJudgment.objects.exists()
        or ImportBatch.objects.exists()
    )


@pytest.fixture
def loaded(project):
    items_import(
        project=project,
        source=jsonl(item("p1"), item("p2", "Explain recursion to a child.")),
        filename="a.jsonl",
    )
    return project


def rejected(**kwargs) -> str:
    with pytest.raises(ValidationProblems) as exc:
        if "ratings" in json.dumps(kwargs.get("lines", "")) or kwargs.get("judgments"):
            judgments_import(
                project=kwargs["project"], source=jsonl(*kwargs["lines"]), filename="j.jsonl"
            )
        else:
            items_import(
                project=kwargs["project"], source=jsonl(*kwargs["lines"]), filename="i.jsonl"
            )
    return str(exc.value)


def test_newsroom_imports_with_exact_counts_and_reimport_changes_nothing(tmp_path):
    project, _ = project_apply(definition={"slug": "newsroom", **NEWSROOM_DEFINITION})
    items, judgments = newsroom_files(tmp_path)
    first = items_import(project=project, source=items)
    assert first.created == {"prompts": 60, "responses": 420}
    result = judgments_import(project=project, source=judgments)
    assert result.created == {"likert": 1260, "pairwise": 0, "annotators": 3}
    assert Prompt.objects.filter(project=project).count() == 60
    assert Response.objects.filter(project=project).count() == 420
    assert LikertJudgment.objects.filter(response__project=project).count() == 1260
    assert set(Annotator.objects.filter(project=project).values_list("external_id", flat=True)) == {
        "slot0",
        "slot1",
        "slot2",
    }
    stored = LikertJudgment.objects.get(
        response__external_id="summary-001", annotator__external_id="slot0"
    )
    assert set(stored.ratings) == {"informativeness", "relevance", "fluency", "coherence"}

    again_items = items_import(project=project, source=items)
    again_judgments = judgments_import(project=project, source=judgments)
    assert again_items.batch is None and again_items.unchanged == {"prompts": 60, "responses": 420}
    assert again_judgments.batch is None and again_judgments.unchanged == {
        "likert": 1260,
        "pairwise": 0,
    }
    assert LikertJudgment.objects.count() == 1260 and ImportBatch.objects.count() == 2


def test_pandalm_imports_999_pairs_from_three_annotators(tmp_path):
    project, _ = project_apply(definition={"slug": "pandalm", **PANDALM_DEFINITION})
    items, judgments = pandalm_files(tmp_path)
    items_import(project=project, source=items, on_duplicate="keep")
    result = judgments_import(project=project, source=judgments)
    assert Prompt.objects.filter(project=project).count() == 999
    assert Response.objects.filter(project=project).count() == 1998
    assert result.created == {"likert": 0, "pairwise": 2997, "annotators": 3}
    choices = PairwiseJudgment.objects.filter(annotator__external_id="annotator1").values_list(
        "choice", flat=True
    )
    assert set(choices) == {"left", "right", "tie"}
    # Prompts asked of several model pairs are exact duplicates: kept, and clustered together.
    assert Prompt.objects.filter(project=project, near_dup_cluster__isnull=False).count() > 0


def test_malformed_json_names_the_line_and_writes_nothing(project):
    message = rejected(
        project=project, lines=[item("p1"), '{"prompt_id": "p2", "prompt": ', item("p3")]
    )
    assert "line 2, field '(line)': not valid JSON" in message
    assert nothing_written()


def test_a_missing_field_is_named_with_its_line(project):
    bad = item("p2")
    del bad["domain"]
    message = rejected(project=project, lines=[item("p1"), bad])
    assert "line 2, field 'domain': is required" in message
    assert nothing_written()


def test_an_unknown_domain_lists_the_known_ones(project):
    message = rejected(project=project, lines=[item("p1", domain="medicine")])
    assert "line 1, field 'domain': unknown domain 'medicine'; this project has: general" in message
    assert nothing_written()


def test_duplicate_ids_inside_a_file_point_at_the_first_occurrence(project):
    message = rejected(
        project=project,
        lines=[
            item("p1"),
            item("p1", "Another question?"),
            item("p3", "Third?", responses=[{"response_id": "p1-r1", "text": "x"}]),
        ],
    )
    assert "line 2, field 'prompt_id': 'p1' appears twice in the file (first on line 1)" in message
    assert (
        "line 3, field 'response_id': 'p1-r1' appears twice in the file (first on line 1)"
        in message
    )
    assert nothing_written()


def test_an_unknown_criterion_is_rejected(loaded):
    message = rejected(
        project=loaded,
        judgments=True,
        lines=[
            {
                "kind": "likert",
                "response_id": "p1-r1",
                "annotator": "x",
                "ratings": {"helpfulness": 4},
            }
        ],
    )
    assert (
        "line 1, field 'ratings.helpfulness': unknown criterion 'helpfulness'; this project has: usefulness"
        in message
    )
    assert not LikertJudgment.objects.exists()


def test_a_rating_outside_the_scale_is_rejected_and_nothing_is_written(loaded):
    message = rejected(
        project=loaded,
        judgments=True,
        lines=[
            {
                "kind": "likert",
                "response_id": "p1-r1",
                "annotator": "x",
                "ratings": {"usefulness": 4},
            },
            {
                "kind": "likert",
                "response_id": "p2-r1",
                "annotator": "x",
                "ratings": {"usefulness": 6, "safety": 0},
            },
        ],
    )
    assert "line 2, field 'ratings.usefulness': 6 is outside the scale 1..5" in message
    assert "line 2, field 'ratings.safety': 0 is outside the scale 1..5" in message
    assert not LikertJudgment.objects.exists() and not Annotator.objects.exists()


def test_pairwise_lines_must_name_responses_of_their_prompt(loaded):
    message = rejected(
        project=loaded,
        judgments=True,
        lines=[
            {
                "kind": "pairwise",
                "prompt_id": "p1",
                "response_a": "p1-r1",
                "response_b": "p2-r1",
                "annotator": "x",
                "choice": "a",
            }
        ],
    )
    assert "field 'response_b': response 'p2-r1' belongs to prompt 'p2', not 'p1'" in message


def test_a_stored_prompt_is_never_overwritten_by_a_different_one(loaded):
    message = rejected(project=loaded, lines=[item("p1", "A different question?")])
    assert "prompt_id 'p1' is already stored with different text" in message
    assert Prompt.objects.get(external_id="p1").text == "What is the capital of France?"


def test_exact_duplicates_are_rejected_or_merged_by_flag(project):
    lines = [
        item("p1"),
        item(
            "p2",
            "  what is the CAPITAL of   france? ",
            responses=[{"response_id": "p2-r1", "text": "It is Paris."}],
        ),
    ]
    message = rejected(project=project, lines=lines)
    assert "line 2, field 'prompt': the same text as prompt 'p1'" in message
    result = items_import(project=project, source=jsonl(*lines), on_duplicate="merge")
    assert result.created == {"prompts": 1, "responses": 2} and result.merged["prompts"] == 1
    assert Response.objects.get(external_id="p2-r1").prompt.external_id == "p1"


def test_near_duplicate_prompts_share_a_cluster_and_unrelated_ones_do_not(project):
    paraphrases = [
        "How do I reverse a list in Python?",
        "How can I reverse a list in Python?",
        "how do i   reverse a LIST in python",
        "In Python, how do I reverse a list?",
    ]
    unrelated = [
        "How do I bake sourdough bread at home?",
        "What is the capital of Australia?",
        "Write a haiku about autumn leaves.",
        "How do I sort a dictionary by value in Python?",
    ]
    rows = [item(f"para{i}", t) for i, t in enumerate(paraphrases)] + [
        item(f"other{i}", t) for i, t in enumerate(unrelated)
    ]
    result = items_import(project=project, source=jsonl(*rows[:2]), on_duplicate="keep")
    result = items_import(project=project, source=jsonl(*rows[2:]), on_duplicate="keep")
    clusters = dict(Prompt.objects.values_list("external_id", "near_dup_cluster"))
    para_clusters = {clusters[f"para{i}"] for i in range(len(paraphrases))}
    assert len(para_clusters) == 1 and None not in para_clusters
    assert para_clusters == {Prompt.objects.get(external_id="para0").pk}
    assert all(clusters[f"other{i}"] is None for i in range(len(unrelated)))
    assert result.near_duplicate_clusters == 1


def test_csv_with_one_response_per_row_groups_responses_by_prompt(project):
    data = (
        "prompt_id,prompt,domain,response_id,response,model\n"
        "p1,Name a prime number.,general,r1,7,model-a\n"
        'p1,Name a prime number.,general,r2,"Eleven, for example.",model-b\n'
        "p2,Say hello.,general,r3,Hello!,model-a\n"
    )
    result = items_import(project=project, source=io.BytesIO(data.encode()), filename="items.csv")
    assert result.created == {"prompts": 2, "responses": 3}
    assert list(
        Response.objects.filter(prompt__external_id="p1").values_list("model_name", flat=True)
    ) == ["model-a", "model-b"]


def test_csv_errors_name_the_row(project):
    data = "prompt_id,prompt,domain,response_id,response\np1,Hi,general,r1,Hello\np2,Bye,nowhere,r2,Ciao\n"
    with pytest.raises(ValidationProblems) as exc:
        items_import(project=project, source=io.BytesIO(data.encode()), filename="items.csv")
    assert "line 3, field 'domain': unknown domain 'nowhere'" in str(exc.value)
    assert nothing_written()


def test_imported_judgments_from_other_tools_keep_their_annotator_ids(loaded):
    other = project_create(slug="other", name="Other")
    line = {
        "kind": "likert",
        "response_id": "p1-r1",
        "annotator": "mturk:A1",
        "ratings": {"usefulness": 5},
    }
    judgments_import(project=loaded, source=jsonl(line))
    annotator = LikertJudgment.objects.get().annotator
    assert (
        annotator.is_external
        and annotator.external_id == "mturk:A1"
        and annotator.project == loaded
    )
    assert other.external_annotators.count() == 0
