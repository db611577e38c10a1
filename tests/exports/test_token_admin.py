import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db


def test_a_lead_creates_a_token_for_a_researcher_of_their_project(
    client, lead_user, researcher_user
):
    client.force_login(lead_user)
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": researcher_user.pk})
    assert response.status_code == 302
    assert Token.objects.filter(user=researcher_user).exists()


def test_a_lead_cannot_see_or_create_tokens_of_people_outside_their_projects(client, lead_user):
    other = project_create(slug="other", name="Other")
    stranger = get_user_model().objects.create_user("stranger")
    from annotation.models import Membership

    Membership.objects.create(user=stranger, project=other, role="researcher")
    Token.objects.create(user=stranger)
    client.force_login(lead_user)
    listing = client.get("/admin/authtoken/tokenproxy/").content.decode()
    assert "stranger" not in listing
    client.post("/admin/authtoken/tokenproxy/add/", {"user": stranger.pk})
    assert Token.objects.filter(user=stranger).count() == 1


def test_annotators_cannot_reach_the_token_admin(client, annotator_user):
    client.force_login(annotator_user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 302
