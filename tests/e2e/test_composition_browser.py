"""The composition and model-ranking panels of the lead's page in Debian's chromium: loaded
by HTMX, with the ranking chart drawn, at phone and laptop width, never scrolling sideways."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.test import Client

from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply
from scoring.services import aggregation_run_create

from ..annotation.builders import make_annotator

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("TRENCHCOAT_SCREENSHOTS")
MODELS = ["llama-2-70b-chat-instruct-long-name", "mistral-7b", "gpt-small"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def campaign(tmp_path):
    project, _ = project_apply(
        definition={
            "slug": "mix",
            "name": "Mix",
            "pairwise_quorum": 2,
            "origin_targets": {"human": 0.6, "model": 0.4},
            "source_targets": {"real_user": 0.5, "expert": 0.3, "curated": 0.2},
        }
    )
    items, votes = [], []
    for i in range(30):
        a, b = MODELS[i % 3], MODELS[(i + 1) % 3]
        responses = [
            {"response_id": f"p{i}-a", "text": f"A {i}.", "model": a},
            {"response_id": f"p{i}-b", "text": f"B {i}.", "model": b},
        ]
        if i % 3 == 0:
            responses.append({"response_id": f"p{i}-h", "text": f"H {i}.", "origin": "human"})
        items.append(
            {
                "prompt_id": f"p{i}",
                "prompt": f"Question {i}?",
                "domain": "general",
                "source": ("real_user", "expert", "curated", "real_user")[i % 4],
                "responses": responses,
            }
        )
        for k in range(2):
            # The earlier model in MODELS wins, mostly.
            better = "a" if MODELS.index(a) < MODELS.index(b) else "b"
            choice = better if (i + k) % 5 else ("tie" if k else {"a": "b", "b": "a"}[better])
            votes.append(
                {
                    "kind": "pairwise",
                    "prompt_id": f"p{i}",
                    "response_a": f"p{i}-a",
                    "response_b": f"p{i}-b",
                    "annotator": f"r{k}",
                    "choice": choice,
                }
            )
    items_import(project=project, source=_jsonl(tmp_path / "items.jsonl", items))
    judgments_import(project=project, source=_jsonl(tmp_path / "votes.jsonl", votes))
    aggregation_run_create(project=project, trigger="command", n_resamples=100)
    lead, _ = make_annotator(project, "lead", role="lead")
    return lead


def test_the_composition_and_model_ranking_panels_fit_a_phone_and_a_laptop(
    live_server, browser, campaign
):
    client = Client()
    client.force_login(campaign)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value}
    for width in (390, 1366):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{**cookie, "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + "/p/mix/lead/")
        composition = page.locator('[data-section="composition"] table[data-composition="origin"]')
        composition.wait_for()
        ranking = page.locator('[data-section="model-ranking"] figure.chart svg')
        ranking.wait_for()
        page.wait_for_load_state("networkidle")
        assert "+" in page.locator('[data-section="composition"] tr[data-key="model"]').inner_text()
        rows = page.locator('[data-section="model-ranking"] tr[data-model]')
        assert rows.first.get_attribute("data-model") == MODELS[0]
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"the lead page is {scroll} px wide at {width} px"
        if SHOTS:
            for name in ("composition", "model-ranking"):
                page.locator(f'[data-section="{name}"]').screenshot(
                    path=Path(SHOTS) / f"{name}-{width}.png"
                )
            page.screenshot(path=Path(SHOTS) / f"lead-{width}.png", full_page=True)
        context.close()
