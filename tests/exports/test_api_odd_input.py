"""Odd input on every API endpoint is a 404 or a 400 that names the field, never a 500.

Release refs are parsed strictly (issue 8, item 10): ``str.isdigit`` accepts "²", on which
``int()`` fails, and "١" or "１", which ``int()`` reads as 1.
"""

import pytest
from rest_framework.test import APIClient

from exports.models import Release
from exports.services.build import release_build, release_request

from .factories import scored_project

pytestmark = pytest.mark.django_db

NOT_A_REF = [
    "²",
    "v²",
    "٣",
    "v٣",
    "١",  # Arabic-Indic one: int() reads it as 1, and v1 exists
    "v١",
    "１",  # fullwidth one
    "v１",
    "1e3",
    "-1",
    "v-1",
    "+1",
    "1.0",
    "0x1",
    "v",
    "latest",
    "%20",
    "9" * 19,
    "v" + "9" * 19,
    "9" * 5000,
    "v" + "9" * 5000,
]


@pytest.fixture
def v1(export_dir, project):
    scored = scored_project(project, n_prompts=9, annotators=3)
    return release_build(release=release_request(project=scored.project))


@pytest.fixture
def researcher_api(researcher_user, api_token_for):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(researcher_user)}")
    return client


@pytest.fixture
def lead_api(lead_user, api_token_for):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(lead_user)}")
    return client


def test_a_ref_that_is_not_ascii_digits_is_a_404(researcher_api, v1):
    base = "/api/v1/projects/demo/releases"
    for ref in NOT_A_REF:
        assert researcher_api.get(f"{base}/{ref}/").status_code == 404, ref
        assert researcher_api.get(f"{base}/{ref}/files/manifest.json").status_code == 404, ref


def test_a_release_is_still_found_by_version_by_capital_v_and_by_id(researcher_api, v1):
    for ref in ["v1", "V1", "v01", str(v1.pk), f" {v1.pk}"]:
        response = researcher_api.get(f"/api/v1/projects/demo/releases/{ref}/")
        assert response.status_code == 200, ref
        assert response.data["id"] == v1.pk


def test_a_version_beyond_every_release_is_a_404(researcher_api, v1):
    assert researcher_api.get("/api/v1/projects/demo/releases/v2147483648/").status_code == 404
    assert researcher_api.get(f"/api/v1/projects/demo/releases/{2**63}/").status_code == 404


def test_a_run_id_that_is_not_a_number_in_range_is_a_404(researcher_api, v1):
    for run_id in ["²", "٣", "1e3", "-1", "abc", "9" * 30, "9" * 5000]:
        assert researcher_api.get(f"/api/v1/projects/demo/runs/{run_id}/").status_code == 404


def test_a_page_number_out_of_range_or_not_a_number_is_a_404(researcher_api, v1):
    for endpoint in ["", "demo/runs/", "demo/releases/"]:
        for page in ["0", "-1", "²", "1e3", "abc", "9" * 25, "9" * 5000]:
            response = researcher_api.get(f"/api/v1/projects/{endpoint}?page={page}")
            assert response.status_code == 404, (endpoint, page)
            assert response.data["detail"] == "Invalid page."


def test_unknown_query_parameters_are_ignored(researcher_api, v1):
    response = researcher_api.get("/api/v1/projects/demo/releases/?foo=bar&page_size=9999")
    assert response.status_code == 200
    assert [r["id"] for r in response.data["results"]] == [v1.pk]


def test_an_unknown_release_status_filter_is_a_400_naming_the_choices(researcher_api, v1):
    response = researcher_api.get("/api/v1/projects/demo/releases/?status=²")
    assert response.status_code == 400
    assert "ready" in str(response.data["status"])


def test_a_seed_outside_the_database_range_is_a_400_and_creates_nothing(lead_api, v1):
    for seed in [2**63, -(2**63) - 1, 10**30]:
        response = lead_api.post(
            "/api/v1/projects/demo/releases/create/", {"seed": seed}, format="json"
        )
        assert response.status_code == 400, seed
        assert "seed" in response.data["detail"] and "out of range" in response.data["detail"]
    assert list(Release.objects.values_list("pk", flat=True)) == [v1.pk]


def test_the_largest_seed_the_database_holds_is_accepted(lead_api, v1):
    response = lead_api.post(
        "/api/v1/projects/demo/releases/create/", {"seed": 2**63 - 1}, format="json"
    )
    assert response.status_code == 202, response.data
    assert Release.objects.get(pk=response.data["id"]).seed == 2**63 - 1


BAD_FIELDS = [
    ({"run": "²"}, "run"),
    ({"run": 10**30}, "run"),
    ({"seed": "²"}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"test_fraction": "nan"}, "test_fraction"),
    ({"test_fraction": "inf"}, "test_fraction"),
    ({"holdout_domains": ["\x00"]}, "holdout_domains"),
]


def test_a_bad_release_request_field_is_a_400_naming_it(lead_api, v1):
    for body, field in BAD_FIELDS:
        response = lead_api.post("/api/v1/projects/demo/releases/create/", body, format="json")
        assert response.status_code == 400, body
        assert field in str(response.data), body
    assert list(Release.objects.values_list("pk", flat=True)) == [v1.pk]
