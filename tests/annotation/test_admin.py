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
    # The admin answers an object it cannot see as a missing one: back to the index.
    response = client.get(f"/admin/annotation/project/{other_project.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


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
        "gold_rate": 0.05,
        "dispute_boost": 0,
        "blend_alpha": 0.6,
        "pairwise_method": "borda",
        "agreement_target": 0.6,
        "tie_tolerance": 1e-6,
        "test_fraction": 0.2,
        "seed": 0,
        "check_min_gold_accuracy": 0.7,
        "check_min_agreement": 0.3,
        "check_max_straight_lining": 0.5,
        "check_left_pick_p": 0.01,
        "check_max_skip_rate": 0.3,
        "check_min_n": 5,
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
                f"criteria-{i}-point_labels": "",
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
    get_user_model().objects.create_user("newbie")
    response = client.post(
        "/admin/annotation/membership/add/",
        {"account": "newbie", "project": other_project.pk, "role": "lead"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(project=other_project).exists()


# --- the admin login (issue 8, item 11) ---


def test_an_anonymous_visitor_gets_the_admin_login_page(client, project):
    assert client.get("/admin/login/").status_code == 200
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"


def test_a_lead_who_is_not_staff_logs_in_through_the_admin_login(client, project, lead_user):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "lead", "password": "pw-lead", "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_annotator_is_told_the_admin_is_for_staff_and_leads(client, project, annotator_user):
    response = client.post("/admin/login/", {"username": "ann", "password": "pw-ann"})
    assert response.status_code == 200
    assert "it is for staff and project leads" in response.content.decode()
    assert client.get("/admin/").status_code == 302


# --- every choice a lead makes is scoped to their projects (issue 8, item 2) ---


@pytest.fixture
def secret_prompt(other_project):
    from annotation.models import Prompt

    domain = other_project.domains.create(name="classified", target_share=1.0)
    return Prompt.objects.create(
        project=other_project,
        domain=domain,
        external_id="secret-1",
        text="The launch codes are 0000",
        content_hash="x",
    )


@pytest.fixture
def own_prompt(project):
    from annotation.models import Prompt

    return Prompt.objects.create(
        project=project,
        domain=project.domains.get(),
        external_id="own-1",
        text="What is a monad?",
        content_hash="y",
    )


def _response_form(project, prompt, **extra):
    return {
        "project": project.pk,
        "prompt": prompt.pk,
        "text": "A response",
        "origin": "model",
        "model_name": "m",
        "external_id": "r-1",
        "provenance": "{}",
        **extra,
    }


def test_a_lead_cannot_add_a_response_to_another_projects_prompt(
    client, project, lead_user, secret_prompt
):
    from annotation.models import Response

    client.force_login(lead_user)
    response = client.post(
        "/admin/annotation/response/add/", _response_form(project, secret_prompt)
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Response.objects.exists()


def test_a_lead_adds_a_response_to_their_own_prompt(client, project, lead_user, own_prompt):
    client.force_login(lead_user)
    response = client.post("/admin/annotation/response/add/", _response_form(project, own_prompt))
    assert response.status_code == 302
    assert own_prompt.responses.get().project == project


def test_an_invalid_response_form_does_not_show_another_projects_prompt(
    client, project, lead_user, secret_prompt
):
    client.force_login(lead_user)
    response = client.post("/admin/annotation/response/add/", {"prompt": secret_prompt.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "launch codes" not in html and "secret-1" not in html


def test_the_prompt_autocomplete_offers_only_the_leads_prompts(
    client, project, lead_user, own_prompt, secret_prompt
):
    client.force_login(lead_user)
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "annotation", "model_name": "response", "field_name": "prompt", "term": ""},
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(own_prompt.pk)]


def test_staff_adding_a_response_across_projects_get_a_clear_message(
    client, project, secret_prompt
):
    from annotation.models import Response
    from annotation.models.items import RESPONSE_PROMPT_PROJECT_MESSAGE

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    response = client.post(
        "/admin/annotation/response/add/", _response_form(project, secret_prompt)
    )
    assert response.status_code == 200
    assert RESPONSE_PROMPT_PROJECT_MESSAGE.replace("'", "&#x27;") in response.content.decode()
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    "changelist",
    [
        "annotation/prompt",
        "annotation/response",
        "annotation/membership",
        "annotation/importbatch",
        "scoring/aggregationrun",
        "exports/release",
    ],
)
def test_the_admin_filters_name_only_the_leads_projects_and_domains(
    client, project, lead_user, own_prompt, secret_prompt, other_project, changelist
):
    from annotation.models import ImportBatch, Response
    from scoring.models import AggregationRun

    for p, prompt in ((project, own_prompt), (other_project, secret_prompt)):
        Response.objects.create(
            project=p, prompt=prompt, text="r", external_id="r", content_hash="h"
        )
        Membership.objects.create(
            user=get_user_model().objects.create_user(f"member-of-{p.slug}"),
            project=p,
            role="annotator",
        )
        ImportBatch.objects.create(project=p, kind="items", filename=f"{p.slug}.jsonl")
        AggregationRun.objects.create(project=p)
    client.force_login(lead_user)
    page = client.get(f"/admin/{changelist}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Secret project" not in html and "classified" not in html
    assert "member-of-secret" not in html


def test_a_lead_cannot_give_a_prompt_a_domain_of_another_project(
    client, project, lead_user, secret_prompt
):
    from annotation.models import Prompt

    client.force_login(lead_user)
    response = client.post(
        "/admin/annotation/prompt/add/",
        {
            "project": project.pk,
            "domain": secret_prompt.domain_id,
            "text": "x",
            "source": "curated",
            "external_id": "p-2",
            "provenance": "{}",
        },
    )
    assert response.status_code == 200
    assert not Prompt.objects.filter(external_id="p-2").exists()


# --- members are added by exact username or email (issue 8, item 1) ---


def test_a_lead_adds_members_by_exact_username_or_email(client, project, lead_user):
    users = get_user_model().objects
    users.create_user("newbie", email="newbie@example.com")
    users.create_user("other-newbie", email="Other@Example.com")
    client.force_login(lead_user)
    for account in ("newbie", "other@example.com"):
        response = client.post(
            "/admin/annotation/membership/add/",
            {"account": account, "project": project.pk, "role": "annotator"},
        )
        assert response.status_code == 302
    assert set(project.memberships.values_list("user__username", flat=True)) == {
        "lead",
        "newbie",
        "other-newbie",
    }


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("nobody", "No account you may choose has the username or email &#x27;nobody&#x27;"),
        ("Newbie", "No account you may choose has the username or email"),  # exact only
        ("root", "This is a staff account"),
        ("lead", "lead is already a member of this project"),
    ],
)
def test_adding_a_member_explains_what_is_wrong(client, project, lead_user, account, message):
    get_user_model().objects.create_user("newbie")
    get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(lead_user)
    response = client.post(
        "/admin/annotation/membership/add/",
        {"account": account, "project": project.pk, "role": "annotator"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert project.memberships.count() == 1


def test_no_admin_page_of_a_lead_lists_every_account(client, project, lead_user):
    get_user_model().objects.create_superuser("rootaccount", "root@example.com", "pw")
    get_user_model().objects.create_user("someone-else")
    client.force_login(lead_user)
    for url in (
        "/admin/annotation/membership/add/",
        f"/admin/annotation/project/{project.pk}/change/",
    ):
        html = client.get(url).content.decode()
        assert "rootaccount" not in html and "someone-else" not in html


def test_the_top_bar_links_the_admin_for_a_lead_but_not_for_an_annotator(
    client, project, lead_user, annotator_user
):
    client.force_login(lead_user)
    assert 'href="/admin/"' in client.get("/").content.decode()
    client.force_login(annotator_user)
    assert 'href="/admin/"' not in client.get("/").content.decode()
