"""Every file of a release names annotators only by the release's pseudonyms (issue 8, item 5).

The release is built from a real aggregation run whose annotators are app users (with user
names and emails) and imported raters (with external names), with enough shared work for
Cohen's kappa pairs and the per-annotator agreement rows: the parts of the manifest that
name annotators. Then every file is read back (JSON, JSONL, Parquet through pyarrow, the
Markdown card) and searched.
"""

import json
import re

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model

from annotation.models import Annotator, LikertJudgment, PairwiseJudgment, Response
from exports.services.build import ALL_FILES, release_build, release_path, release_request
from scoring.services import aggregation_run_create

from .factories import scored_project

pytestmark = pytest.mark.django_db

PSEUDONYM = re.compile(r"ann_[0-9a-f]{16}")
# Keys under which a file refers to one annotator; "a" and "b" are the coders of a Cohen
# pair (elsewhere they are the two sides of a pair of responses).
ANNOTATOR_KEYS = {"annotator", "annotator_id", "user", "user_id", "coder_a", "coder_b"}


def names_an_annotator(path) -> bool:
    return bool(path) and (
        path[-1] in ANNOTATOR_KEYS or (path[-1] in {"a", "b"} and "cohen" in path)
    )


def walk(value, path=()):
    """(key path, leaf value) of every leaf of a JSON-like value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, path)
    else:
        yield path, value


def documents(directory):
    """Every file of the release as JSON-like values, plus its raw text."""
    for name in ALL_FILES:
        path = directory / name
        if name.endswith(".parquet"):
            rows = pq.read_table(path).to_pylist()
            yield name, rows, json.dumps(rows, default=str)
        elif name.endswith(".jsonl"):
            text = path.read_text(encoding="utf-8")
            yield name, [json.loads(line) for line in text.splitlines()], text
        elif name.endswith(".json"):
            text = path.read_text(encoding="utf-8")
            yield name, json.loads(text), text
        else:
            yield name, None, path.read_text(encoding="utf-8")


@pytest.fixture
def release_of_users_and_raters(project, export_dir):
    scored = scored_project(project, n_prompts=25, annotators=3, with_run=False)
    users = [
        get_user_model().objects.create_user(
            username=f"zelda{k}", email=f"zelda{k}@annotators.example", password="x"
        )
        for k in range(2)
    ]
    people = [Annotator.objects.create(user=u) for u in users]
    keys = list(project.criteria.values_list("key", flat=True))
    responses = list(Response.objects.filter(project=project).order_by("id"))
    LikertJudgment.objects.bulk_create(
        LikertJudgment(
            response=r,
            annotator=a,
            ratings={k: 1 + (r.pk + a.pk + i) % 5 for i, k in enumerate(keys)},
        )
        for r in responses
        for a in people
    )
    by_prompt = {}
    for r in responses:
        by_prompt.setdefault(r.prompt_id, []).append(r)
    PairwiseJudgment.objects.bulk_create(
        PairwiseJudgment(
            prompt_id=rs[0].prompt_id,
            left=rs[0],
            right=rs[1],
            response_a=rs[0],
            response_b=rs[1],
            annotator=a,
            choice="left" if (rs[0].pk + a.pk) % 2 else "right",
        )
        for rs in by_prompt.values()
        for a in people
    )
    # One response below the Likert quorum: the run's exclusions sample it by database id.
    first = responses[0]
    lonely = Response.objects.create(
        project=project,
        prompt_id=first.prompt_id,
        text="a lonely answer",
        external_id="lonely-answer",
        content_hash="lonely",
    )
    LikertJudgment.objects.create(
        response=lonely, annotator=people[0], ratings={k: 3 for k in keys}
    )
    run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    release = release_build(release=release_request(project=project, run=run))
    assert release.status == "ready", release.error
    raters = list(Annotator.objects.filter(project=project))
    return {
        "release": release,
        "run": run,
        "users": users,
        "annotators": people + raters,
        "scored": scored,
    }


def test_the_run_names_annotators_that_the_release_must_hide(release_of_users_and_raters):
    # The premise: the run's own agreement names every annotator by database id, and has
    # Cohen pairs, so the manifest has something to map.
    agreement = release_of_users_and_raters["run"].agreement
    assert len(agreement["annotators"]) == 5
    assert agreement["cohen"]["likert"] and agreement["cohen"]["pairwise"]


def test_no_file_of_a_release_names_an_annotator_other_than_by_pseudonym(
    release_of_users_and_raters,
):
    release = release_of_users_and_raters["release"]
    directory = release_path(release)
    annotators = release_of_users_and_raters["annotators"]
    users = release_of_users_and_raters["users"]
    names = [u.username for u in users] + [u.email for u in users]
    names += [a.external_id for a in annotators if a.external_id]

    judged = set()
    for _, rows, _ in [d for d in documents(directory) if d[0] == "judgments.jsonl"]:
        judged = {row["annotator"] for row in rows}
    assert len(judged) == len(annotators)

    referenced = set()
    for name, value, text in documents(directory):
        for secret in names:
            assert secret not in text, f"{name} contains {secret!r}"
        assert '"annotator_id"' not in text, f"{name} has an annotator_id field"
        if value is None:
            continue
        for path, leaf in walk(value):
            if names_an_annotator(path):
                assert isinstance(leaf, str) and PSEUDONYM.fullmatch(leaf), (
                    f"{name}: {'.'.join(path)} = {leaf!r} is not a pseudonym"
                )
                referenced.add(leaf)
    # The manifest's agreement rows and Cohen pairs use the judgments' pseudonyms.
    manifest = json.loads((directory / "manifest.json").read_text())
    rows = manifest["agreement"]["annotators"]
    assert {row["annotator"] for row in rows} == judged
    assert [row["annotator"] for row in rows] == sorted(row["annotator"] for row in rows)
    pairs = manifest["agreement"]["cohen"]["likert"] + manifest["agreement"]["cohen"]["pairwise"]
    assert pairs and all(p["a"] < p["b"] and {p["a"], p["b"]} <= judged for p in pairs)
    assert referenced == judged


def test_exclusion_samples_name_responses_by_their_external_ids(release_of_users_and_raters):
    release = release_of_users_and_raters["release"]
    run = release_of_users_and_raters["run"]
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    external = dict(Response.objects.values_list("pk", "external_id"))
    below = next(e for e in manifest["exclusions"] if e["reason"] == "below_likert_quorum")
    assert below["sample_ids"] == ["lonely-answer"]
    for ours, theirs in zip(manifest["exclusions"], run.exclusions, strict=True):
        if "sample_ids" in theirs:
            assert ours["sample_ids"] == [external[i] for i in theirs["sample_ids"]]
