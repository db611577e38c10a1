import pytest
from django.contrib.auth import get_user_model

from annotation.models import Membership
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_project(db):
    return project_create(slug="secret", name="Secret project")


def test_a_lead_who_is_not_staff_sees_only_their_projects_in_the_admin(
    client, project, lead_user, other_project
):
    client.force_login(lead_user)
    page = client.get("/admin/annotation/project/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Demo" in html and "Secret project" not in html
    assert client.get(f"/admin/annotation/project/{other_project.pk}/change/").status_code in (
        302,
        404,
    )


def test_annotators_cannot_enter_the_admin(client, project, annotator_user):
    client.force_login(annotator_user)
    assert client.get("/admin/annotation/project/").status_code == 302


def test_the_admin_rejects_criterion_weights_not_summing_to_one(client, project):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    criteria = list(project.criteria.order_by("position"))
    domain = project.domains.get()
    data = {
        "name": project.name,
        "slug": project.slug,
        "status": "active",
        "guidelines": "",
        "likert_quorum": 5,
        "pairwise_quorum": 3,
        "pairwise_weight": "",
        "lease_seconds": 900,
        "blend_alpha": 0.6,
        "agreement_target": 0.6,
        "tie_tolerance": 1e-6,
        "test_fraction": 0.2,
        "seed": 0,
        "criteria-TOTAL_FORMS": 4,
        "criteria-INITIAL_FORMS": 4,
        "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
        "domains-TOTAL_FORMS": 1,
        "domains-INITIAL_FORMS": 1,
        "domains-MIN_NUM_FORMS": 0,
        "domains-MAX_NUM_FORMS": 1000,
        "domains-0-id": domain.pk,
        "domains-0-project": project.pk,
        "domains-0-name": "general",
        "domains-0-target_share": 1.0,
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for i, c in enumerate(criteria):
        data.update(
            {
                f"criteria-{i}-id": c.pk,
                f"criteria-{i}-project": project.pk,
                f"criteria-{i}-position": i,
                f"criteria-{i}-key": c.key,
                f"criteria-{i}-label": c.label,
                f"criteria-{i}-description": "",
                f"criteria-{i}-scale_min": 1,
                f"criteria-{i}-scale_max": 5,
                f"criteria-{i}-level": "ordinal",
                f"criteria-{i}-weight": 0.5 if i == 0 else 0.25,
                f"criteria-{i}-point_labels": "{}",
            }
        )
    response = client.post(f"/admin/annotation/project/{project.pk}/change/", data)
    assert response.status_code == 200
    assert "weights must sum to 1, these sum to 1.25" in response.content.decode()
    assert project.criteria.get(key="usefulness").weight == 0.25
    data["criteria-0-weight"] = 0.25
    assert client.post(f"/admin/annotation/project/{project.pk}/change/", data).status_code == 302


def test_a_lead_cannot_move_a_membership_into_a_project_they_do_not_lead(
    client, project, lead_user, other_project
):
    client.force_login(lead_user)
    user = get_user_model().objects.create_user("newbie")
    client.post(
        "/admin/annotation/membership/add/",
        {"user": user.pk, "project": other_project.pk, "role": "lead"},
    )
    assert not Membership.objects.filter(project=other_project).exists()
