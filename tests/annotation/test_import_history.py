"""The imports page as a lead reads it (issue 11, item 7): the history in words, re-imports
shown as such, problems in line order, and a clear word for an items file given as
judgments."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import ImportBatch

pytestmark = pytest.mark.django_db

ITEM = {
    "prompt_id": "p1",
    "prompt": "Hi?",
    "domain": "general",
    "responses": [{"response_id": "r1", "text": "Hello"}, {"response_id": "r2", "text": "Hey"}],
}


def upload(client, project, body: str, kind="items", on_duplicate="merge"):
    return client.post(
        f"/p/{project.slug}/imports/",
        {
            "kind": kind,
            "on_duplicate": on_duplicate,
            "file": SimpleUploadedFile("items.jsonl", body.encode()),
        },
    )


def history(client, project) -> str:
    html = client.get(f"/p/{project.slug}/imports/").content.decode()
    return html.split('data-section="history"')[1].split("</section>")[0]


def test_the_history_says_what_an_import_created_in_words(client, project, lead_user):
    client.force_login(lead_user)
    assert upload(client, project, json.dumps(ITEM) + "\n").status_code == 302
    shown = history(client, project)
    assert "1 prompt, 2 responses new" in shown
    assert "repeated prompts merged" in shown
    assert "{" not in shown and "&#x27;" not in shown  # no Python dicts


def test_a_re_import_is_in_the_history_marked_as_such_with_nothing_new(client, project, lead_user):
    client.force_login(lead_user)
    body = json.dumps(ITEM) + "\n"
    upload(client, project, body)
    assert upload(client, project, body).status_code == 302
    assert ImportBatch.objects.filter(project=project).count() == 2
    again = ImportBatch.objects.filter(project=project).order_by("-id").first()
    shown = history(client, project)
    row = shown.split(f'data-batch="{again.pk}"')[1].split("</tr>")[0]
    assert "re-import" in row and "0 new" in row
    assert "already there: 1 prompt, 2 responses" in row


def test_problems_are_listed_by_line(client, project, lead_user):
    client.force_login(lead_user)
    bad_domain = json.dumps({**ITEM, "domain": "nowhere"})
    # Line 2 is unreadable (found while reading); line 1's domain is checked afterwards.
    response = upload(client, project, bad_domain + "\n{not json\n")
    html = response.content.decode()
    assert response.status_code == 400
    assert 0 < html.index("line 1, field") < html.index("line 2, field")


def test_an_items_file_given_as_judgments_says_what_it_looks_like(client, project, lead_user):
    client.force_login(lead_user)
    body = "\n".join(json.dumps({**ITEM, "prompt_id": f"p{i}"}) for i in range(5)) + "\n"
    response = upload(client, project, body, kind="judgments")
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "line 1, field &#x27;kind&#x27;: this looks like an items file (it has "
        "prompt/responses); import it as items, or give judgment lines with a kind of "
        "likert or pairwise"
    ) in html
    assert "None is not" not in html and "line 2," not in html


def test_a_failed_background_imports_page_lists_its_problems_by_line(client, project, lead_user):
    batch = ImportBatch.objects.create(
        project=project,
        kind="judgments",
        filename="judgments.jsonl",
        status=ImportBatch.Status.FAILED,
        lines_total=3000,
        error="judgments.jsonl rejected, nothing was written (2 problems)",
        problems=[
            {"line": 12, "field": "response_id", "message": "unknown response 'r9'"},
            {"line": 3, "field": "ratings", "message": "missing criterion 'usefulness'"},
        ],
    )
    client.force_login(lead_user)
    html = client.get(f"/p/{project.slug}/imports/{batch.pk}/").content.decode()
    assert 0 < html.index("line 3, field") < html.index("line 12, field")
