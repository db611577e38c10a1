import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Prompt

pytestmark = pytest.mark.django_db

GOOD = json.dumps(
    {
        "prompt_id": "p1",
        "prompt": "Hi?",
        "domain": "general",
        "responses": [{"response_id": "r1", "text": "Hello"}],
    }
)
BAD = json.dumps({"prompt_id": "p2", "prompt": "Bye?", "domain": "nowhere", "responses": []})


def upload(client, project, body: str, name="items.jsonl", kind="items"):
    return client.post(
        f"/p/{project.slug}/imports/",
        {"kind": kind, "on_duplicate": "reject", "file": SimpleUploadedFile(name, body.encode())},
    )


def test_a_lead_uploads_items_and_sees_them_counted(client, project, lead_user):
    client.force_login(lead_user)
    response = upload(client, project, GOOD + "\n")
    assert response.status_code == 302
    assert Prompt.objects.filter(project=project).count() == 1
    page = client.get(f"/p/{project.slug}/imports/")
    assert "Imported items.jsonl: 1 prompts, 1 responses created" in page.content.decode()


def test_a_rejected_upload_lists_line_and_field_and_writes_nothing(client, project, lead_user):
    client.force_login(lead_user)
    response = upload(client, project, GOOD + "\n" + BAD + "\n")
    assert response.status_code == 400
    assert (
        "line 2, field &#x27;domain&#x27;: unknown domain &#x27;nowhere&#x27;"
        in response.content.decode()
    )
    assert not Prompt.objects.exists()


@pytest.mark.parametrize(
    "persona,status", [("annotator_user", 403), ("researcher_user", 403), ("outsider_user", 404)]
)
def test_only_leads_may_import(client, project, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/p/{project.slug}/imports/").status_code == status
    assert upload(client, project, GOOD).status_code == status
    assert not Prompt.objects.exists()


def test_the_near_duplicate_page_shows_clusters_to_leads(client, project, lead_user):
    from io import BytesIO

    from annotation.services.imports import items_import

    rows = [
        {"prompt_id": "a", "prompt": "How do I reverse a list in Python?", "domain": "general"},
        {"prompt_id": "b", "prompt": "How can I reverse a list in Python?", "domain": "general"},
        {"prompt_id": "c", "prompt": "Write a limerick about a cat.", "domain": "general"},
    ]
    items_import(
        project=project,
        source=BytesIO("\n".join(json.dumps(r) for r in rows).encode()),
        filename="x.jsonl",
    )
    client.force_login(lead_user)
    html = client.get(f"/p/{project.slug}/near-duplicates/").content.decode()
    assert "How can I reverse a list in Python?" in html and "2 prompts" in html
    assert "limerick" not in html
