"""The annotator's real path in a real browser: Playwright driving Debian's chromium."""

import pytest

from annotation.models import Assignment, Criterion, LikertJudgment, PairwiseJudgment

from ..annotation.builders import add_items, make_annotator, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery"
CRITERIA = ("usefulness", "factuality", "safety", "alignment")


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_an_annotator_rates_two_responses_and_compares_them_by_keyboard_alone(
    live_server, browser, viewport
):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    add_items(
        project,
        prompts=1,
        responses=2,
        prompt_text="Write a **haiku**",
        response_text="Haiku number {j}",
    )
    user, annotator = make_annotator(project, "kim", password="correct-horse-battery")

    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/p/e2e/annotate/")
    page.fill("#id_username", "kim")
    page.fill("#id_password", "correct-horse-battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("section#task[data-kind=likert]")
    # Keys pressed before htmx and the shortcuts are up would post the plain form instead.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.inner_html("[data-prompt]").strip() == "<p>Write a <strong>haiku</strong></p>"

    leases = []
    for values in ("4253", "5111"):
        page.wait_for_function("() => document.activeElement.name === 'rating-usefulness'")
        lease = page.get_attribute("section#task", "data-lease")
        leases.append(lease)
        # Focus starts on the first criterion; each digit rates one and moves to the next.
        for digit in values:
            page.keyboard.press(digit)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "lease => { const t = document.querySelector('section#task'); return t && t.dataset.lease !== lease; }",
            arg=lease,
        )
        assert page.locator("p.notice").inner_text() == "Saved."

    page.wait_for_selector("section#task[data-kind=pairwise]")
    assert (
        page.locator("[data-side=left]").count() == 1
        and page.locator("[data-side=right]").count() == 1
    )
    page.keyboard.press("?")
    assert page.locator("[data-shortcuts]").get_attribute("open") is not None
    page.keyboard.press("?")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-nothing]")
    assert "Today: 3 judgments" in page.inner_text(".progress-group")
    assert errors == []
    page.close()

    ratings = sorted(
        tuple(j.ratings[k] for k in ("usefulness", "factuality", "safety", "alignment"))
        for j in LikertJudgment.objects.filter(annotator=annotator)
    )
    assert ratings == [(4, 2, 5, 3), (5, 1, 1, 1)]
    pairwise = PairwiseJudgment.objects.get(annotator=annotator)
    assert pairwise.choice == "right"
    assert all(j.duration_ms and j.duration_ms > 0 for j in LikertJudgment.objects.all())
    assert len(set(leases)) == 2


def open_task(live_server, browser, project, *, viewport, username="kim"):
    """Log ``username`` in through the login form and wait until the task page is live.

    Returns the page and the list its uncaught script errors are added to."""
    make_annotator(project, username, password=PASSWORD)
    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/p/{project.slug}/annotate/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("section#task[data-lease]")
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    return page, errors


def wait_for_next_task(page, lease):
    page.wait_for_function(
        "lease => { const t = document.querySelector('section#task'); return t && t.dataset.lease !== lease; }",
        arg=lease,
    )


def checked_ratings(page):
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('form.task-form input[type=radio]:checked')]
              .map(input => [input.name, input.value]))"""
    )


def test_s_then_a_reason_number_then_enter_skips_with_that_reason(live_server, browser):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    add_items(project, prompts=2)
    page, errors = open_task(live_server, browser, project, viewport=DESKTOP)
    lease = page.get_attribute("section#task", "data-lease")
    page.wait_for_function("() => document.activeElement.name === 'rating-usefulness'")

    page.keyboard.press("s")
    assert page.locator("[data-skip]").get_attribute("open") is not None
    assert page.evaluate("() => document.activeElement.name") == "reason"
    # Digits in the skip list pick a reason (the second: "Broken, empty or unreadable"),
    # they do not rate a criterion.
    page.keyboard.press("2")
    assert page.evaluate("() => document.activeElement.value") == "unreadable"
    assert checked_ratings(page) == {}
    page.keyboard.press("Enter")
    wait_for_next_task(page, lease)

    skipped = Assignment.objects.get(pk=lease)
    assert (skipped.state, skipped.skip_reason) == ("skipped", "unreadable")
    assert page.locator("p.notice").inner_text().startswith("Skipped.")
    assert errors == []


@pytest.mark.parametrize("kind", ["likert", "pairwise"])
def test_on_a_phone_the_task_opens_at_the_top_with_the_prompt_in_view(live_server, browser, kind):
    project = make_project(
        slug="e2e",
        likert_quorum=1,
        pairwise_quorum=1,
        pairwise_weight=1.0 if kind == "pairwise" else None,
    )
    add_items(
        project,
        prompts=2,
        responses=2,
        prompt_text="Write a *limerick* about a cat ({i})",
        response_text="There once was a cat from Peru\n\n"
        + "who dreamed of a very long shoe " * 12,
    )
    page, errors = open_task(live_server, browser, project, viewport=PHONE)
    page.wait_for_selector(f"section#task[data-kind={kind}]")
    # Focus is on the first control to rate, yet the page has not scrolled to it.
    focused = "rating-usefulness" if kind == "likert" else "choice"
    page.wait_for_function("name => document.activeElement.name === name", arg=focused)
    assert page.evaluate("() => window.scrollY") == 0
    prompt = page.locator("[data-prompt]").bounding_box()
    assert prompt["y"] >= 0 and prompt["y"] + prompt["height"] <= PHONE["height"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    # The next task, swapped in after a keyboard submission from far down the page, opens
    # at the top as well.
    lease = page.get_attribute("section#task", "data-lease")
    for key in "5555" if kind == "likert" else "b":
        page.keyboard.press(key)
    page.locator("[data-submit]").scroll_into_view_if_needed()
    assert page.evaluate("() => window.scrollY") > 0
    page.keyboard.press("Enter")
    wait_for_next_task(page, lease)
    page.wait_for_function("() => window.scrollY === 0")
    assert page.locator("p.notice").is_visible()
    assert errors == []


def test_an_empty_response_says_it_is_empty(live_server, browser):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    add_items(project, prompts=1, response_text="")
    page, errors = open_task(live_server, browser, project, viewport=PHONE)
    marker = page.locator("[data-empty]")
    assert marker.is_visible() and marker.inner_text() == "(empty response)"


def test_ratings_entered_before_a_reload_are_kept_and_submitted(live_server, browser):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    add_items(project, prompts=2)
    page, errors = open_task(live_server, browser, project, viewport=DESKTOP)
    lease = page.get_attribute("section#task", "data-lease")
    page.wait_for_function("() => document.activeElement.name === 'rating-usefulness'")
    page.keyboard.press("4")
    page.keyboard.press("2")
    page.click("details.extras summary")
    page.check("input[name=flags][value=unsure]")

    page.reload()
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.get_attribute("section#task", "data-lease") == lease
    assert checked_ratings(page) == {"rating-usefulness": "4", "rating-factuality": "2"}
    assert page.is_checked("input[name=flags][value=unsure]")
    # Focus continues with the first criterion not yet rated.
    page.wait_for_function("() => document.activeElement.name === 'rating-safety'")
    page.keyboard.press("5")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    wait_for_next_task(page, lease)

    judgment = LikertJudgment.objects.get(assignment_id=lease)
    assert [judgment.ratings[k] for k in CRITERIA] == [4, 2, 5, 3]
    assert judgment.flags == ["unsure"]
    # The submitted lease's draft is gone; the next task starts blank.
    assert checked_ratings(page) == {}
    page.wait_for_function(
        "() => !Object.keys(sessionStorage).some(k => k.startsWith('trenchcoat:draft:'))"
    )
    assert errors == []


def test_each_point_shows_what_it_means_within_a_phone_screen(live_server, browser):
    project = make_project(slug="e2e", likert_quorum=1, pairwise_quorum=1)
    labels = {
        "1": "Useless",
        "2": "Barely helps",
        "3": "Partly useful",
        "4": "Useful",
        "5": "Solves it",
    }
    Criterion.objects.filter(project=project, key="usefulness").update(point_labels=labels)
    add_items(project, prompts=1)
    page, errors = open_task(live_server, browser, project, viewport=PHONE)
    usefulness = page.locator("fieldset[data-criterion=usefulness]")
    for value, label in labels.items():
        point = usefulness.locator(f"label.point:has(input[value='{value}'])")
        assert point.locator(".point-label").inner_text() == label
        assert point.get_attribute("title") == f"{value}: {label}"
        box = point.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Criteria without labels say which end of the scale is best.
    assert page.locator("fieldset[data-criterion=usefulness] [data-scale-key]").count() == 0
    key = page.locator("fieldset[data-criterion=safety] [data-scale-key]")
    assert key.is_visible() and key.inner_text() == "1 = worst … 5 = best"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
