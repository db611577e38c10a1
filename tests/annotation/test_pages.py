import re
from uuid import uuid4

import pytest

from annotation.models import Assignment, Criterion, LikertJudgment

from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = make_project(
        slug="pages", likert_quorum=1, pairwise_quorum=1, guidelines="# Rules\n\nBe **fair**."
    )
    Criterion.objects.filter(project=project, key="usefulness").update(
        point_labels={"1": "Useless", "5": "Perfect"}
    )
    add_items(
        project,
        prompts=1,
        responses=2,
        prompt_text="Explain *recursion*",
        response_text="Answer {j}",
    )
    return project


@pytest.fixture
def user(project):
    return make_annotator(project, "ann")[0]


def ratings(project, value="4"):
    return {f"rating-{k}": value for k in project.criteria.values_list("key", flat=True)}


def post_data(page, project, value="4"):
    key = re.search(rb'name="client_key" value="([0-9a-f-]+)"', page.content).group(1).decode()
    return {"client_key": key, **ratings(project, value)}


def lease_url(page):
    return re.search(rb'action="(/p/[^"]+/submit/)"', page.content).group(1).decode()


def test_the_likert_page_shows_the_prompt_response_criteria_scale_and_guidelines(
    client, project, user
):
    client.force_login(user)
    page = client.get("/p/pages/annotate/")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert "<em>recursion</em>" in html
    assert re.search(r"Answer [01]", html)
    for c in project.criteria.all():
        assert f'name="rating-{c.key}"' in html
        assert c.description.split()[0] in html
    assert html.count('type="radio" name="rating-') == 4 * 5
    assert "Useless" in html and "Perfect" in html
    assert "<strong>fair</strong>" in html  # the guidelines panel
    assert "Today: <strong data-today>0</strong>" in html
    assert 'name="viewport"' in html and "js/annotate.js" in html


def test_a_reload_shows_the_same_task(client, project, user):
    client.force_login(user)
    first = client.get("/p/pages/annotate/")
    second = client.get("/p/pages/annotate/")
    assert lease_url(first) == lease_url(second)
    assert Assignment.objects.count() == 1


def test_an_htmx_submission_swaps_in_the_next_task_without_a_full_page(client, project, user):
    client.force_login(user)
    page = client.get("/p/pages/annotate/")
    response = client.post(lease_url(page), post_data(page, project), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<section id="task"')
    assert lease_url(response) != lease_url(page)
    assert "Saved." in html and "Today: <strong data-today>1</strong>" in html
    assert LikertJudgment.objects.count() == 1


def test_a_plain_form_post_redirects_to_the_next_task(client, project, user):
    client.force_login(user)
    page = client.get("/p/pages/annotate/")
    response = client.post(lease_url(page), post_data(page, project))
    assert response.status_code == 302 and response["Location"] == "/p/pages/annotate/"
    follow = client.get(response["Location"])
    assert "Saved." in follow.content.decode()
    assert lease_url(follow) != lease_url(page)


def test_after_the_likert_tasks_the_pairwise_page_shows_both_responses_side_by_side(
    client, project, user
):
    client.force_login(user)
    for _ in range(2):
        page = client.get("/p/pages/annotate/")
        client.post(lease_url(page), post_data(page, project))
    page = client.get("/p/pages/annotate/")
    html = page.content.decode()
    assert 'data-kind="pairwise"' in html
    assert 'data-side="left"' in html and 'data-side="right"' in html
    assert all(f'name="choice" value="{v}"' in html for v in ("left", "right", "tie"))
    key = re.search(r'name="client_key" value="([0-9a-f-]+)"', html).group(1)
    response = client.post(
        lease_url(page), {"client_key": key, "choice": "tie"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Nothing available right now" in response.content.decode()


def test_nothing_available_right_now_when_all_open_work_is_leased(client, project, user):
    other, _ = make_annotator(project, "other")
    client.force_login(other)
    client.get("/p/pages/annotate/")
    client.get("/p/pages/annotate/")  # still the same lease
    more, _ = make_annotator(project, "more")
    client.force_login(user)
    client.get("/p/pages/annotate/")
    client.force_login(more)
    page = client.get("/p/pages/annotate/")
    assert page.status_code == 200
    assert "Nothing available right now" in page.content.decode()


def test_skipping_with_a_reason_moves_on_and_records_the_reason(client, project, user):
    client.force_login(user)
    page = client.get("/p/pages/annotate/")
    skip_url = lease_url(page).replace("/submit/", "/skip/")
    response = client.post(
        skip_url, {"reason": "unqualified", "note": "no idea"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Skipped." in response.content.decode()
    assert (
        Assignment.objects.filter(
            state="skipped", skip_reason="unqualified", skip_note="no idea"
        ).count()
        == 1
    )
    assert client.post(skip_url, {"reason": "because"}).status_code == 400


def test_an_invalid_submission_re_renders_the_task_with_the_reason_and_keeps_the_choices(
    client, project, user
):
    client.force_login(user)
    page = client.get("/p/pages/annotate/")
    data = post_data(page, project, "2")
    data.pop("rating-safety")
    response = client.post(lease_url(page), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Safety is not rated" in html and "data-error" in html
    assert re.search(r'name="rating-usefulness" value="2" required checked', html)
    assert lease_url(response) == lease_url(page)


def test_the_guidelines_page_shows_guidelines_and_criteria(client, project, user):
    client.force_login(user)
    html = client.get("/p/pages/guidelines/").content.decode()
    assert "<h1>Rules</h1>" in html and "Factuality" in html


def section(html: str, key: str) -> str:
    """The part of a page about one criterion."""
    return re.search(rf'data-criterion="{key}".*?</(?:section|fieldset)>', html, re.S).group(0)


def test_the_guidelines_page_tables_each_point_with_its_label(client, project, user):
    client.force_login(user)
    html = client.get("/p/pages/guidelines/").content.decode()
    usefulness = section(html, "usefulness")
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', usefulness)
    assert rows == [("1", "Useless"), ("2", "—"), ("3", "—"), ("4", "—"), ("5", "Perfect")]
    assert "worst" not in usefulness


def test_criteria_without_point_labels_say_which_end_of_the_scale_is_best(client, project, user):
    Criterion.objects.filter(project=project, key="safety").update(scale_min=0, scale_max=10)
    client.force_login(user)
    for url in ("/p/pages/guidelines/", "/p/pages/annotate/"):
        html = client.get(url).content.decode()
        assert "1 = worst … 5 = best" in section(html, "factuality")
        assert "0 = worst … 10 = best" in section(html, "safety")
        assert "data-scale-key" not in section(html, "usefulness")


def test_the_task_page_labels_each_point_in_words(client, project, user):
    client.force_login(user)
    usefulness = section(client.get("/p/pages/annotate/").content.decode(), "usefulness")
    assert re.search(r'title="1: Useless">\s*<input[^>]*value="1"', usefulness)
    assert '<span class="point-label">Perfect</span>' in usefulness


def test_an_empty_response_says_it_is_empty_instead_of_showing_a_blank_card(client, project, user):
    project.responses.update(text="  \n")
    client.force_login(user)
    html = client.get("/p/pages/annotate/").content.decode()
    assert re.search(r'<p class="empty-response"[^>]*>\(empty response\)</p>', html)


def test_the_skip_form_numbers_its_reasons_for_the_keyboard(client, project, user):
    client.force_login(user)
    html = client.get("/p/pages/annotate/").content.decode()
    reasons = re.findall(r'name="reason" value="(\w+)" required> <kbd>(\d)</kbd>', html)
    assert reasons == [
        ("unqualified", "1"),
        ("unreadable", "2"),
        ("disturbing", "3"),
        ("other", "4"),
    ]


def test_the_home_page_lists_projects_with_a_link_to_annotate_and_open_work(client, project, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'href="/p/pages/annotate/"' in html and "Start annotating" in html
    client.get("/p/pages/annotate/")
    html = client.get("/").content.decode()
    assert "Continue annotating" in html and "A task is waiting for you" in html
    assert "/p/pages/lead/" not in html


def test_anonymous_visitors_are_sent_to_the_login_page(client, project):
    response = client.get("/p/pages/annotate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post("/p/pages/leases/1/submit/", {"client_key": str(uuid4())}).status_code == 302
