"""Every route checked (issue 12, item 3): the whole URLconf, the admin and the API included,
requested as each persona, against one table of the status each should get.

The walk reads ``get_resolver()`` itself, so a route added without an entry in ROUTES fails
``test_every_route_in_the_urlconf_has_an_entry_in_the_table`` by name. The parameters are
real objects of one project (prompts, responses, tasks, a lease, judgments, an aggregation
run with disputes, a scorer with a scoring run and its meta-evaluation, gold, an exclusion,
an import, a ready release, API tokens). Each route is asked with GET, and with an empty
POST where it takes one (with a CSRF token, and once more as the lead without one: 403);
pages also as HTMX, the API also with each persona's token. No answer may be a 500; an
outsider (the lead of another project) never gets a 200 on a route of this project nor an
answer that names it, and an annotator never gets a 200 on a lead's page.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "annotator", "lead", "researcher", "outsider", "staff")


@dataclass(frozen=True)
class E:
    """The status each persona gets, in PERSONAS order."""

    anonymous: int
    annotator: int
    lead: int
    researcher: int
    outsider: int
    staff: int

    def of(self, persona: str) -> int:
        return getattr(self, persona)


# Profiles that many routes share. Pages send anonymous users to the login page (302); an
# outsider gets 404 on any project page (annotation/access.py), a member whose role does
# not allow the page 403. The API answers 401 without credentials.
MEMBERS = E(302, 200, 200, 200, 404, 200)
ANNOTATE = E(302, 200, 200, 403, 404, 200)
RESULTS = E(302, 403, 200, 200, 404, 200)
LEADS = E(302, 403, 200, 403, 404, 200)
# A POST-only page asked with GET: the login comes first, then 405.
POST_ONLY = E(302, 405, 405, 405, 405, 405)
# A lead's POST that does its work and redirects (POST/redirect/GET).
LEAD_POST = E(302, 403, 302, 403, 404, 302)
API_RESULTS = E(401, 403, 200, 200, 404, 200)
API_LEADS = E(401, 403, 200, 403, 404, 200)
API_POST_ONLY = E(401, 405, 405, 405, 405, 405)
# The admin: staff, and leads scoped to the projects they lead; everyone else goes to its
# login page. The outsider leads another project: they may use the admin, but an object of
# this project is missing to them (the admin redirects to its index).
ADMIN_LIST = E(302, 302, 200, 302, 200, 200)
ADMIN_OBJECT = E(302, 302, 200, 302, 302, 200)
# What only staff may do (add a project, delete a project's rows), what nobody may (add a
# judgment, a run or a release, edit a run), and Django's own models, which need model permissions that
# neither leads nor staff who are not superusers hold.
ADMIN_STAFF = E(302, 302, 403, 302, 403, 200)
ADMIN_NOBODY = E(302, 302, 403, 302, 403, 403)
# /admin/<app>/<model>/<id>/ redirects to the change page (or to the login page).
ADMIN_REDIRECT = E(302, 302, 302, 302, 302, 302)

ROUTES: dict[str, dict[str, E]] = {
    "healthz": {"GET": E(200, 200, 200, 200, 200, 200)},
    "login": {"GET": E(200, 200, 200, 200, 200, 200), "POST": E(200, 200, 200, 200, 200, 200)},
    "logout": {"GET": E(405, 405, 405, 405, 405, 405), "POST": E(302, 302, 302, 302, 302, 302)},
    # pages: annotation
    "annotation:home": {"GET": E(302, 200, 200, 200, 200, 200)},
    "annotation:annotate": {"GET": ANNOTATE},
    "annotation:submit": {"GET": POST_ONLY, "POST": E(302, 400, 403, 403, 404, 403)},
    "annotation:skip": {"GET": POST_ONLY, "POST": E(302, 400, 400, 403, 404, 400)},
    "annotation:guidelines": {"GET": MEMBERS},
    "annotation:project_lead": {"GET": LEADS},
    "annotation:composition_panel": {"GET": RESULTS},
    "annotation:gold_mark": {"GET": POST_ONLY, "POST": LEAD_POST},
    "annotation:annotator_action": {"GET": POST_ONLY, "POST": LEAD_POST},
    "annotation:dispute_queue": {"GET": LEADS},
    "annotation:dispute": {"GET": LEADS},
    "annotation:dispute_action": {"GET": POST_ONLY, "POST": LEAD_POST},
    "imports:upload": {"GET": LEADS, "POST": E(302, 403, 400, 403, 404, 400)},
    "imports:job": {"GET": LEADS},
    "imports:near_duplicates": {"GET": LEADS},
    # pages: scoring
    "scoring:project_runs": {"GET": RESULTS},
    "scoring:project_panel": {"GET": RESULTS},
    "scoring:model_ranking_panel": {"GET": RESULTS},
    "scoring:dashboard_per_day": {"GET": RESULTS},
    "scoring:dashboard_agreement": {"GET": RESULTS},
    "scoring:dashboard_completion": {"GET": RESULTS},
    "scoring:annotator_checks": {"GET": LEADS},
    # HTMX gets the runs panel back in place of the redirect.
    "scoring:project_run_trigger": {
        "GET": POST_ONLY,
        "POST": LEAD_POST,
        "POST htmx": E(302, 403, 200, 403, 404, 200),
    },
    "scoring:project_scorers": {"GET": RESULTS},
    "scoring:project_scoring_run_start": {"GET": POST_ONLY, "POST": LEAD_POST},
    "scoring:project_scorer": {"GET": RESULTS},
    "scoring:project_scoring_run": {"GET": RESULTS},
    # pages: exports
    "exports:token": {
        "GET": E(302, 200, 200, 200, 200, 200),
        "POST": E(302, 400, 400, 400, 400, 400),
    },
    "exports:project_releases": {"GET": RESULTS, "POST": LEAD_POST},
    "exports:project_panel": {"GET": RESULTS},
    "exports:project_jobs": {"GET": RESULTS},
    # the API, with a session and with a token
    "api-schema": {"GET": E(200, 200, 200, 200, 200, 200)},
    "api-docs": {"GET": E(200, 200, 200, 200, 200, 200)},
    "api:project_list": {"GET": E(401, 200, 200, 200, 200, 200)},
    "api:project_detail": {"GET": API_RESULTS},
    "api:items_import": {"GET": API_POST_ONLY, "POST": E(401, 403, 400, 403, 404, 400)},
    "api:import_detail": {"GET": API_LEADS},
    "api:run_list": {"GET": API_RESULTS},
    "api:run_trigger": {"GET": API_POST_ONLY, "POST": E(401, 403, 202, 403, 404, 202)},
    "api:run_detail": {"GET": API_RESULTS},
    "api:scorer_list": {"GET": API_RESULTS},
    "api:scoring_run_list": {"GET": API_RESULTS, "POST": E(401, 403, 400, 403, 404, 400)},
    "api:scoring_run_detail": {"GET": API_RESULTS},
    "api:leaderboard": {"GET": API_RESULTS},
    "api:scorer_metaeval": {"GET": API_RESULTS},
    "api:release_list": {"GET": API_RESULTS},
    "api:release_create": {"GET": API_POST_ONLY, "POST": E(401, 403, 202, 403, 404, 202)},
    "api:release_detail": {"GET": API_RESULTS},
    "api:release_file": {"GET": API_RESULTS},
    # the admin
    "admin:index": {"GET": ADMIN_LIST},
    "admin:login": {"GET": E(200, 200, 302, 200, 302, 302)},
    "admin:logout": {"GET": E(302, 302, 405, 302, 405, 405)},
    "admin:password_change": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:password_change_done": {"GET": ADMIN_LIST},
    "admin:autocomplete": {"GET": ADMIN_NOBODY},
    "admin:jsi18n": {"GET": ADMIN_LIST},
    "admin:view_on_site": {"GET": E(302, 302, 404, 302, 404, 404)},
    "admin:auth_group_changelist": {"GET": ADMIN_NOBODY},
    "admin:auth_group_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:auth_group_history": {"GET": ADMIN_NOBODY},
    "admin:auth_group_delete": {"GET": ADMIN_NOBODY},
    "admin:auth_group_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin/auth/group/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:auth_user_password_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:auth_user_changelist": {"GET": ADMIN_NOBODY},
    "admin:auth_user_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:auth_user_history": {"GET": ADMIN_NOBODY},
    "admin:auth_user_delete": {"GET": ADMIN_NOBODY},
    "admin:auth_user_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin/auth/user/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:axes_accessattempt_changelist": {"GET": ADMIN_NOBODY},
    "admin:axes_accessattempt_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:axes_accessattempt_history": {"GET": ADMIN_NOBODY},
    "admin:axes_accessattempt_delete": {"GET": ADMIN_NOBODY},
    "admin:axes_accessattempt_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin/axes/accessattempt/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:axes_accesslog_changelist": {"GET": ADMIN_NOBODY},
    "admin:axes_accesslog_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:axes_accesslog_history": {"GET": ADMIN_NOBODY},
    "admin:axes_accesslog_delete": {"GET": ADMIN_NOBODY},
    "admin:axes_accesslog_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin/axes/accesslog/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:axes_accessfailurelog_changelist": {"GET": ADMIN_NOBODY},
    "admin:axes_accessfailurelog_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:axes_accessfailurelog_history": {"GET": ADMIN_NOBODY},
    "admin:axes_accessfailurelog_delete": {"GET": ADMIN_NOBODY},
    "admin:axes_accessfailurelog_change": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin/axes/accessfailurelog/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_prompt_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_prompt_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_prompt_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_prompt_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_prompt_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_OBJECT},
    "admin/annotation/prompt/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_response_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_response_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_response_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_response_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_response_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_OBJECT},
    "admin/annotation/response/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_likertjudgment_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_likertjudgment_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:annotation_likertjudgment_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_likertjudgment_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_likertjudgment_change": {
        "GET": ADMIN_OBJECT,
        "POST": E(302, 302, 403, 302, 403, 302),
    },
    "admin/annotation/likertjudgment/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_pairwisejudgment_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_pairwisejudgment_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:annotation_pairwisejudgment_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_pairwisejudgment_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_pairwisejudgment_change": {
        "GET": ADMIN_OBJECT,
        "POST": E(302, 302, 403, 302, 403, 302),
    },
    "admin/annotation/pairwisejudgment/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_annotator_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_annotator_add": {"GET": ADMIN_STAFF, "POST": ADMIN_STAFF},
    "admin:annotation_annotator_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_annotator_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_annotator_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_STAFF},
    "admin/annotation/annotator/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_importbatch_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_importbatch_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:annotation_importbatch_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_importbatch_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_importbatch_change": {
        "GET": ADMIN_OBJECT,
        "POST": E(302, 302, 403, 302, 403, 302),
    },
    "admin/annotation/importbatch/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_golditem_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_golditem_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_golditem_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_golditem_delete": {"GET": ADMIN_OBJECT},
    "admin:annotation_golditem_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_OBJECT},
    "admin/annotation/golditem/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_annotatorexclusion_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_annotatorexclusion_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_annotatorexclusion_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_annotatorexclusion_delete": {"GET": ADMIN_OBJECT},
    "admin:annotation_annotatorexclusion_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_REDIRECT},
    "admin/annotation/annotatorexclusion/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_project_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_project_add": {"GET": ADMIN_STAFF, "POST": ADMIN_STAFF},
    "admin:annotation_project_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_project_delete": {"GET": ADMIN_STAFF},
    "admin:annotation_project_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_OBJECT},
    "admin/annotation/project/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_membership_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_membership_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_membership_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_membership_delete": {"GET": ADMIN_OBJECT},
    "admin:annotation_membership_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_OBJECT},
    "admin/annotation/membership/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:annotation_apitoken_changelist": {"GET": ADMIN_LIST},
    "admin:annotation_apitoken_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:annotation_apitoken_history": {"GET": ADMIN_OBJECT},
    "admin:annotation_apitoken_delete": {"GET": ADMIN_OBJECT},
    "admin:annotation_apitoken_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_NOBODY},
    "admin/annotation/apitoken/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:scoring_aggregationrun_changelist": {"GET": ADMIN_LIST},
    "admin:scoring_aggregationrun_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:scoring_aggregationrun_history": {"GET": ADMIN_OBJECT},
    "admin:scoring_aggregationrun_delete": {"GET": ADMIN_STAFF},
    "admin:scoring_aggregationrun_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_NOBODY},
    "admin/scoring/aggregationrun/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:scoring_responsescore_changelist": {"GET": ADMIN_LIST},
    "admin:scoring_responsescore_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:scoring_responsescore_history": {"GET": ADMIN_OBJECT},
    "admin:scoring_responsescore_delete": {"GET": ADMIN_STAFF},
    "admin:scoring_responsescore_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_NOBODY},
    "admin/scoring/responsescore/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:scoring_scorer_changelist": {"GET": ADMIN_LIST},
    "admin:scoring_scorer_add": {"GET": ADMIN_LIST, "POST": ADMIN_LIST},
    "admin:scoring_scorer_history": {"GET": ADMIN_LIST},
    "admin:scoring_scorer_delete": {"GET": ADMIN_STAFF},
    "admin:scoring_scorer_change": {"GET": ADMIN_LIST, "POST": ADMIN_STAFF},
    "admin/scoring/scorer/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:scoring_scoringrun_changelist": {"GET": ADMIN_LIST},
    "admin:scoring_scoringrun_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:scoring_scoringrun_history": {"GET": ADMIN_OBJECT},
    "admin:scoring_scoringrun_delete": {"GET": ADMIN_STAFF},
    "admin:scoring_scoringrun_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_NOBODY},
    "admin/scoring/scoringrun/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:exports_release_changelist": {"GET": ADMIN_LIST},
    "admin:exports_release_add": {"GET": ADMIN_NOBODY, "POST": ADMIN_NOBODY},
    "admin:exports_release_history": {"GET": ADMIN_OBJECT},
    "admin:exports_release_delete": {"GET": ADMIN_NOBODY},
    "admin:exports_release_change": {"GET": ADMIN_OBJECT, "POST": ADMIN_NOBODY},
    "admin/exports/release/<path:object_id>/": {"GET": ADMIN_REDIRECT},
    "admin:app_list": {"GET": ADMIN_LIST},
    "admin/(?P<url>.*)$": {"GET": E(302, 302, 404, 302, 404, 404)},
}


@dataclass(frozen=True)
class Route:
    key: str  # the route's namespaced name, or its pattern when it has none
    pattern: str
    params: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            ns = ":".join(part for part in (namespace, inner) if part)
            yield from _walk(entry.url_patterns, pattern, ns)
            continue
        assert isinstance(entry, URLPattern)
        name = ":".join(part for part in (namespace, entry.name) if part) if entry.name else ""
        params = tuple(entry.pattern.regex.groupindex)
        yield Route(key=name or pattern, pattern=pattern, params=params)


def routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def test_every_route_in_the_urlconf_has_an_entry_in_the_table():
    found = {route.key: route for route in routes()}
    missing = [
        f"{key} ({route.pattern}) has no entry in ROUTES: add one with the status each "
        "persona should get"
        for key, route in found.items()
        if key not in ROUTES
    ]
    stale = [
        f"{key} is in ROUTES but not in the URLconf: remove it"
        for key in ROUTES
        if key not in found
    ]
    assert not missing + stale, "\n".join(missing + stale)


def test_the_walk_covers_each_registered_models_admin_pages():
    walked = {route.key for route in routes()}
    for model in admin.site._registry:
        for page in ("changelist", "add", "change"):
            name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
            assert name in walked and name in ROUTES, name


# --- the world every route is filled from -------------------------------------------------

ITEMS = json.dumps(
    {
        "prompt_id": "imported-1",
        "prompt": "What is a monad?",
        "domain": "code",
        "responses": [{"response_id": "imported-1-a", "text": "A monoid of endofunctors."}],
    }
)


@dataclass
class World:
    project: object
    users: dict
    tokens: dict
    values: dict  # route parameter -> value, and per-route overrides under the route's key
    admin_objects: dict  # model -> an object of the project


@pytest.fixture
def world(settings, tmp_path) -> World:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from annotation.models import Annotator, Dispute, ImportBatch, Membership
    from annotation.services.assignments import assignment_claim_next
    from annotation.services.imports.items import items_import
    from annotation.services.projects import project_create
    from annotation.services.quality import annotator_exclude, gold_mark
    from annotation.services.tokens import api_token_create
    from exports.services.build import release_build, release_request
    from scoring.services import aggregation_run_create
    from tests.annotation.builders import add_items, make_annotator
    from tests.scoring.factories import prompt_with_responses, rate, raters, vote
    from tests.scoring.metaeval_records import ceiling_made, scorer_measured

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EXPORT_DIR = tmp_path / "releases"
    settings.IMPORT_DIR = tmp_path / "imports"
    cache.clear()  # the API's throttle counters live in the cache

    project = project_create(
        slug="quokka",
        name="Quokka routes",
        domains=[{"name": "code"}, {"name": "chat"}],
        likert_quorum=3,
        pairwise_quorum=3,
    )
    elsewhere = project_create(slug="elsewhere", name="Elsewhere", domains=[{"name": "general"}])
    users = {
        "annotator": make_annotator(project, "ann")[0],
        "lead": make_annotator(project, "lead", role="lead")[0],
        "researcher": make_annotator(project, "res", role="researcher")[0],
        # The outsider is a lead, of another project only: every power, none over this one.
        "outsider": make_annotator(elsewhere, "outsider", role="lead")[0],
        "staff": get_user_model().objects.create_user("staff", is_staff=True),
    }
    # Two responses rated by three raters, one of them 1, 3 and 5, and a split vote: the
    # aggregation run gives both a score and opens disputes. Kept small: the admin's delete
    # pages list every row a project's deletion would take.
    _, (split, agreed) = prompt_with_responses(project, 2)
    keys = list(project.criteria.values_list("key", flat=True))
    people = raters(project, 3)
    for value, rater in zip((1, 3, 5), people, strict=True):
        rate(split, rater, **dict.fromkeys(keys, value))
        rate(agreed, rater, **dict.fromkeys(keys, 4))
    vote(split, agreed, people[0])
    vote(agreed, split, people[1])
    vote(split, agreed, people[2], tie=True)
    aggregation = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    dispute = Dispute.objects.filter(project=project).order_by("pk").first()
    assert dispute is not None, "the setup should open a dispute"
    # A scorer with a finished run and its meta-evaluation, and the noise ceiling.
    scoring_run = scorer_measured(project, aggregation, "chars").scoring_run
    ceiling_made(aggregation)
    # Items the annotator works on: a task and the annotator's lease on it.
    prompts = add_items(project, prompts=3, responses=2, domain="chat")
    annotator = Annotator.objects.get(user=users["annotator"])
    lease = assignment_claim_next(project=project, annotator=annotator)
    assert lease is not None
    gold = gold_mark(
        project=project,
        response=prompts[-1].responses.first(),
        expected_ratings=dict.fromkeys(keys, 3),
        explanation="A plain, correct answer.",
        by=users["lead"],
    )
    rater = people[0]
    exclusion = annotator_exclude(project=project, annotator=rater, reason="test", by=users["lead"])
    items_import(
        project=project,
        source=io.BytesIO(ITEMS.encode() + b"\n"),
        filename="items.jsonl",
        user=users["lead"],
    )
    batch = ImportBatch.objects.filter(project=project).latest("pk")
    release = release_build(release=release_request(project=project, run=aggregation))
    assert release.is_ready and "preferences.parquet" in release.files
    tokens = {
        persona: api_token_create(user=user, name="matrix", expires_in_days=30)
        for persona, user in users.items()
    }
    group = Group.objects.create(name="matrix")
    # The login throttle's records (django-axes), of an address the test client never uses.
    seen = {"username": "nobody", "ip_address": "203.0.113.9", "user_agent": "test"}
    seen |= {"http_accept": "*/*", "path_info": "/accounts/login/"}
    attempt = AccessAttempt.objects.create(
        **seen, get_data="", post_data="", failures_since_start=1
    )
    admin_objects = _admin_objects(
        project=project,
        extra={
            "annotation.project": project,
            "annotation.membership": Membership.objects.get(user=users["annotator"]),
            "annotation.annotator": rater,
            "annotation.golditem": gold,
            "annotation.annotatorexclusion": exclusion,
            "annotation.importbatch": batch,
            "annotation.apitoken": tokens["researcher"].token,
            "exports.release": release,
            "scoring.aggregationrun": aggregation,
            "scoring.scorer": scoring_run.scorer,
            "scoring.scoringrun": scoring_run,
            "auth.user": users["annotator"],
            "auth.group": group,
            "axes.accessattempt": attempt,
            "axes.accesslog": AccessLog.objects.create(**seen),
            "axes.accessfailurelog": AccessFailureLog.objects.create(**seen),
        },
    )
    values = {
        "slug": project.slug,
        "lease_id": lease.pk,
        "annotator_id": annotator.pk,
        "dispute_id": dispute.pk,
        "batch_id": batch.pk,
        "run_id": scoring_run.pk,
        "name": "chars",
        "ref": release.label,
        "app_label": "annotation",
        "content_type_id": ContentType.objects.get_for_model(project).pk,
        "url": "no-such-page/",
        "annotation:annotator_action": {"action": "pause"},
        "annotation:dispute_action": {"action": "dismiss"},
        "api:run_detail": {"run_id": aggregation.pk},
        "api:release_file": {"name": "preferences.parquet"},
        "admin:view_on_site": {"object_id": project.pk},
    }
    return World(
        project=project,
        users=users,
        tokens={persona: new.key for persona, new in tokens.items()},
        values=values,
        admin_objects=admin_objects,
    )


def _admin_objects(*, project, extra: dict) -> dict:
    """An object of the project for every model the admin registers: named in ``extra``, or
    the first of the project's rows (through the admin's ``project_path``)."""
    found = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        obj = extra.get(label)
        if obj is None and hasattr(model_admin, "project_path"):
            obj = (
                model._default_manager.filter(**{model_admin.project_path: project})
                .order_by("pk")
                .first()
            )
        assert obj is not None, f"no {label} in the setup: add one for its admin pages"
        found[model] = obj
    return found


# --- requesting every route ------------------------------------------------------------------


def _admin_model(route: Route):
    """The model of an admin route of a registered model, else None."""
    for model in admin.site._registry:
        app, name = model._meta.app_label, model._meta.model_name
        if route.key.startswith(f"admin:{app}_{name}_") or route.pattern.startswith(
            f"admin/{app}/{name}/"
        ):
            return model
    return None


def url_of(route: Route, world: World) -> str:
    values = {**world.values, **world.values.get(route.key, {})}
    model = _admin_model(route)
    if model is not None:
        values["object_id"] = values["id"] = world.admin_objects[model].pk
    kwargs = {param: values[param] for param in route.params}
    if route.key != route.pattern:
        return reverse(route.key, kwargs=kwargs)
    # An unnamed route (the admin's own): its pattern with the values in place.
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m[1]]), route.pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m[1]]), text)
    return "/" + text.replace("^", "").replace("$", "")


def is_api(route: Route) -> bool:
    return route.pattern.startswith("api/v1/")


def is_project_route(route: Route) -> bool:
    return "slug" in route.params


def is_lead_page(route: Route) -> bool:
    """The lead's pages: under /lead/, the admin (but for its login page), and the project
    routes ROUTES gives a lead but refuses a researcher (who reads results)."""
    if "/lead/" in f"/{route.pattern}" or (
        route.pattern.startswith("admin/") and route.key != "admin:login"
    ):
        return True
    entry = ROUTES.get(route.key, {})
    return (
        is_project_route(route)
        and route.key not in ANNOTATORS_OWN
        and any(e.lead < 400 and e.researcher == 403 for e in entry.values())
    )


# The annotator's own routes, which researchers (who do not annotate) are refused too.
ANNOTATORS_OWN = {"annotation:annotate", "annotation:submit", "annotation:skip"}

# Routes whose POST ends the session: the persona logs in again afterwards.
LOGS_OUT = {"logout", "admin:logout"}


def _status(client: Client, method: str, url: str) -> tuple[int, bytes]:
    try:
        response = client.post(url) if method == "POST" else client.get(url)
    except Exception as exc:  # the test client re-raises a view's exception: a 500
        return 500, f"{type(exc).__name__}: {exc}".encode()
    body = b"" if response.streaming else response.content
    return response.status_code, body


def _clients(world: World) -> dict[str, dict[str, Client]]:
    """Per way of asking, a client per persona: a browser session, the same session as HTMX
    (the pages answer it with a partial; an entry's "POST htmx" says where its status
    differs from a plain POST's), and an API token."""
    ways = {way: {"anonymous": Client()} for way in ("session", "htmx")}
    ways["token"] = {}
    for persona, user in world.users.items():
        ways["session"][persona] = Client()
        ways["htmx"][persona] = Client(HTTP_HX_REQUEST="true")
        for way in ("session", "htmx"):
            ways[way][persona].force_login(user)
        ways["token"][persona] = Client(HTTP_AUTHORIZATION=f"Token {world.tokens[persona]}")
    return ways


def _ways(route: Route) -> list[str]:
    if is_api(route):
        return ["session", "token"]
    return ["session"] if route.pattern.startswith("admin/") else ["session", "htmx"]


def test_every_route_answers_each_persona_as_the_table_says(world):
    clients = _clients(world)
    without_csrf = Client(enforce_csrf_checks=True)
    without_csrf.force_login(world.users["lead"])
    secret = world.project.slug.encode()

    problems, unlisted = [], []
    for route in routes():
        url = url_of(route, world)
        entry = ROUTES.get(route.key)
        for method in [m for m in entry if " " not in m] if entry else ["GET"]:
            got = {}
            for way in _ways(route):
                expected = entry.get(f"{method} {way}", entry[method]) if entry else None
                for persona, client in clients[way].items():
                    status, body = _status(client, method, url)
                    if method == "POST" and route.key in LOGS_OUT and persona != "anonymous":
                        client.force_login(world.users[persona])
                    got.setdefault(persona, status)
                    said = f"{method} {url} as {persona} ({way})"
                    if status >= 500:
                        problems.append(f"{said}: {status} {body[:300]!r}")
                    elif expected is not None and status != expected.of(persona):
                        problems.append(f"{said}: {status}, ROUTES says {expected.of(persona)}")
                    if status == 200 and persona == "outsider" and is_project_route(route):
                        problems.append(f"{said}: 200 for someone outside the project")
                    if status == 200 and persona == "outsider" and secret in body.lower():
                        problems.append(f"{said}: the answer names the project")
                    if status == 200 and persona == "annotator" and is_lead_page(route):
                        problems.append(f"{said}: 200 for an annotator on a lead's page")
            if method == "POST" and _status(without_csrf, method, url)[0] != 403:
                problems.append(f"POST {url} as lead without a CSRF token: not 403")
            if expected is None:
                row = ", ".join(str(got[p]) for p in PERSONAS)
                unlisted.append(f'    "{route.key}": {{"{method}": E({row})}},')
    assert not problems, "\n".join(problems)
    assert not unlisted, (
        "routes without an entry in ROUTES; as requested now (check that each status is the "
        "one that persona should get before adding it):\n" + "\n".join(unlisted)
    )
