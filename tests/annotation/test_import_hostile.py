"""Hostile lines in an import are problems with a line and a field, never a crash, and
nothing is written (issue 8, item 8): through the command, the upload page and the API."""

from __future__ import annotations

import html
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.models import (
    Annotator,
    ImportBatch,
    LikertJudgment,
    PairwiseJudgment,
    Prompt,
    Response,
)
from annotation.services.imports import items_import

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "1" * 5000


def item(pid: str, **fields) -> dict:
    return {
        "prompt_id": pid,
        "prompt": f"Question {pid}?",
        "domain": "general",
        "responses": [{"response_id": f"{pid}-r1", "text": "An answer."}],
        **fields,
    }


def likert(**fields) -> dict:
    return {
        "kind": "likert",
        "response_id": "p1-r1",
        "annotator": "rater-1",
        "ratings": {"usefulness": 4},
        **fields,
    }


def lines(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


GOOD_ITEM = json.dumps(item("p0"))
GOOD_JUDGMENT = json.dumps(likert(annotator="rater-0"))
CSV_HEADER = "prompt_id,prompt,domain,response_id,response,prompt_provenance,response_provenance\n"
CSV_GOOD = "c1,Hello?,general,c1-a,Hi,,\n"


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


# (kind, file name, body, line, field, what the message says)
CASES = {
    "items: NUL in a prompt": (
        "items",
        "items.jsonl",
        lines(GOOD_ITEM, item("p2", prompt="a\u0000b")),
        2,
        "prompt",
        "NUL character",
    ),
    "items: lone surrogate in a response": (
        "items",
        "items.jsonl",
        lines(GOOD_ITEM, item("p2", responses=[{"response_id": "r", "text": "\ud800"}])),
        2,
        "responses[0].text",
        "lone UTF-16 surrogate",
    ),
    "items: NUL in a provenance key": (
        "items",
        "items.jsonl",
        lines(GOOD_ITEM, item("p2", provenance={"li\u0000cense": "x"})),
        2,
        "provenance.li\\x00cense",
        "NUL character",
    ),
    "items: JSON nested 100,000 deep": (
        "items",
        "items.jsonl",
        lines(
            GOOD_ITEM,
            '{"prompt_id": "p2", "prompt": "x", "domain": "general", '
            f'"provenance": {{"a": {DEEP}}}}}',
        ),
        2,
        "(line)",
        "nested too deeply",
    ),
    "items: a 5,000-digit number": (
        "items",
        "items.jsonl",
        lines(GOOD_ITEM, f'{{"prompt_id": {HUGE}, "prompt": "x", "domain": "general"}}'),
        2,
        "prompt_id",
        "a number with 5,000 digits",
    ),
    "items: NaN in provenance": (
        "items",
        "items.jsonl",
        lines(
            GOOD_ITEM,
            '{"prompt_id": "p2", "prompt": "x", "domain": "general", "provenance": {"score": NaN}}',
        ),
        2,
        "provenance.score",
        "NaN is not a number that can be stored",
    ),
    "items: a prompt id longer than its column": (
        "items",
        "items.jsonl",
        lines(GOOD_ITEM, item("p" * 201)),
        2,
        "prompt_id",
        "is 201 characters long; at most 200",
    ),
    "items: a model name longer than its column": (
        "items",
        "items.jsonl",
        lines(
            GOOD_ITEM, item("p2", responses=[{"response_id": "r", "text": "", "model": "m" * 300}])
        ),
        2,
        "responses[0].model",
        "is 300 characters long; at most 200",
    ),
    "items csv: NUL in a cell": (
        "items",
        "items.csv",
        CSV_HEADER + CSV_GOOD + "c2,Hel\x00lo?,general,c2-a,Hi,,\n",
        3,
        "prompt",
        "NUL character",
    ),
    "items csv: lone surrogate in provenance": (
        "items",
        "items.csv",
        CSV_HEADER + CSV_GOOD + "c2,Bye?,general,c2-a,Hi," + csv_cell('{"a": "\\ud800"}') + ",\n",
        3,
        "prompt_provenance.a",
        "lone UTF-16 surrogate",
    ),
    "items csv: provenance nested 100,000 deep": (
        "items",
        "items.csv",
        CSV_HEADER + CSV_GOOD + "c2,Bye?,general,c2-a,Hi,," + DEEP + "\n",
        3,
        "response_provenance",
        "nested too deeply",
    ),
    "items csv: a 5,000-digit number in provenance": (
        "items",
        "items.csv",
        CSV_HEADER + CSV_GOOD + "c2,Bye?,general,c2-a,Hi," + csv_cell(f'{{"n": {HUGE}}}') + ",\n",
        3,
        "prompt_provenance.n",
        "a number with 5,000 digits",
    ),
    "items csv: a response id longer than its column": (
        "items",
        "items.csv",
        CSV_HEADER + CSV_GOOD + f"c2,Bye?,general,{'r' * 250},Hi,,\n",
        3,
        "response_id",
        "is 250 characters long; at most 200",
    ),
    "judgments: NUL in a comment": (
        "judgments",
        "judgments.jsonl",
        lines(GOOD_JUDGMENT, likert(comment="fine\u0000")),
        2,
        "comment",
        "NUL character",
    ),
    "judgments: lone surrogate in an annotator": (
        "judgments",
        "judgments.jsonl",
        lines(GOOD_JUDGMENT, likert(annotator="rater-\udfff")),
        2,
        "annotator",
        "lone UTF-16 surrogate",
    ),
    "judgments: JSON nested 100,000 deep": (
        "judgments",
        "judgments.jsonl",
        lines(GOOD_JUDGMENT, '{"kind": "likert", "flags": ' + DEEP + "}"),
        2,
        "(line)",
        "nested too deeply",
    ),
    "judgments: a 5,000-digit duration": (
        "judgments",
        "judgments.jsonl",
        lines(
            GOOD_JUDGMENT,
            '{"kind": "likert", "response_id": "p1-r1", "annotator": "a", '
            f'"ratings": {{"usefulness": 4}}, "duration_ms": {HUGE}}}',
        ),
        2,
        "duration_ms",
        "a number with 5,000 digits",
    ),
    "judgments: a duration past its column": (
        "judgments",
        "judgments.jsonl",
        lines(GOOD_JUDGMENT, likert(duration_ms=2**40)),
        2,
        "duration_ms",
        "from 0 to 2,147,483,647",
    ),
    "judgments: an annotator id longer than its column": (
        "judgments",
        "judgments.jsonl",
        lines(GOOD_JUDGMENT, likert(annotator="a" * 201)),
        2,
        "annotator",
        "is 201 characters long; at most 200",
    ),
}
ITEM_CASES = [name for name, case in CASES.items() if case[0] == "items"]


@pytest.fixture
def loaded(project):
    """One stored prompt with one response, for the judgments to refer to."""
    items_import(project=project, source=io.BytesIO(lines(item("p1")).encode()), filename="a.jsonl")
    return project


def stored() -> tuple[int, ...]:
    return (
        Prompt.objects.count(),
        Response.objects.count(),
        LikertJudgment.objects.count(),
        PairwiseJudgment.objects.count(),
        Annotator.objects.count(),
        ImportBatch.objects.count(),
    )


def assert_names_line_and_field(text: str, line: int, field: str, says: str) -> None:
    expected = f"line {line}, field '{field}': "
    shown = [row for row in text.splitlines() if expected in row]
    assert shown, f"no problem on {expected!r} in:\n{text[:2000]}"
    assert any(says in row for row in shown), shown


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_command_reports_a_hostile_line_and_writes_nothing(case, loaded, tmp_path, capsys):
    kind, name, body, line, field, says = CASES[case]
    path = tmp_path / name
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    before = stored()
    with pytest.raises(CommandError, match="rejected, nothing was written"):
        call_command(f"import_{kind}", str(path), "--project", loaded.slug)
    assert_names_line_and_field(capsys.readouterr().err, line, field, says)
    assert stored() == before


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_upload_page_reports_a_hostile_line_and_writes_nothing(case, loaded, client, lead_user):
    kind, name, body, line, field, says = CASES[case]
    client.force_login(lead_user)
    before = stored()
    response = client.post(
        f"/p/{loaded.slug}/imports/",
        {
            "kind": kind,
            "on_duplicate": "reject",
            "file": SimpleUploadedFile(name, body.encode("utf-8", "surrogatepass")),
        },
    )
    assert response.status_code == 400
    assert_names_line_and_field(html.unescape(response.content.decode()), line, field, says)
    assert stored() == before


@pytest.mark.parametrize("case", ITEM_CASES, ids=ITEM_CASES)
def test_the_api_reports_a_hostile_line_and_writes_nothing(case, loaded, lead_user, api_token_for):
    _, name, body, line, field, says = CASES[case]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(lead_user)}")
    before = stored()
    response = client.post(
        f"/api/v1/projects/{loaded.slug}/items/import/",
        {"file": SimpleUploadedFile(name, body.encode("utf-8", "surrogatepass"))},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:500]
    assert_names_line_and_field(response.json()["detail"], line, field, says)
    assert any(
        p["line"] == line and p["field"] == field and says in p["message"]
        for p in response.json()["problems"]
    )
    assert stored() == before


def test_a_hostile_file_name_is_stored_without_nul_or_surrogates(project):
    result = items_import(
        project=project,
        source=io.BytesIO(lines(item("p1")).encode()),
        filename="it\u0000ems\ud800.jsonl",
    )
    assert ImportBatch.objects.get(pk=result.batch.pk).filename == "items?.jsonl"
