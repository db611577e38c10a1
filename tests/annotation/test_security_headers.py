"""Content-Security-Policy on every page, no inline script or style, no remote images."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from annotation.markdown import render_markdown

from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
REMOTE_IMAGE = "![a chart](https://evil.example/p.png)"


def policy(response) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


class Inventory(HTMLParser):
    """What a CSP would have to allow: inline scripts and styles, and every image source."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.images: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self._in_script_without_src = True
        if tag == "style":
            self.style_elements += 1
        if "style" in attrs:
            self.style_attributes.append(tag)
        if tag == "img":
            self.images.append(attrs.get("src") or "")

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


def inventory(response) -> Inventory:
    parser = Inventory()
    parser.feed(response.content.decode())
    parser.close()
    return parser


@pytest.fixture
def remote_image_project():
    project = make_project(slug="img", likert_quorum=1, pairwise_quorum=1)
    add_items(project, prompts=1, responses=2, prompt_text="Draw me " + REMOTE_IMAGE)
    project.guidelines = "See " + REMOTE_IMAGE
    project.save(update_fields=["guidelines"])
    return project


def test_pages_send_the_content_security_policy(client, remote_image_project):
    user, _ = make_annotator(remote_image_project, "kim")
    lead, _ = make_annotator(remote_image_project, "lou", role="lead")
    anonymous = [client.get("/accounts/login/"), client.get("/no-such-page/")]
    client.force_login(user)
    annotator = [client.get("/"), client.get("/p/img/annotate/"), client.get("/p/img/guidelines/")]
    client.force_login(lead)
    lead_pages = [client.get("/p/img/lead/")]

    for response in anonymous + annotator + lead_pages:
        assert policy(response) == EXPECTED_POLICY, response.request["PATH_INFO"]


def test_the_app_pages_need_no_inline_script_or_style(client, remote_image_project):
    user, _ = make_annotator(remote_image_project, "kim")
    lead, _ = make_annotator(remote_image_project, "lou", role="lead")
    pages = [client.get("/accounts/login/")]
    client.force_login(user)
    pages += [client.get("/"), client.get("/p/img/annotate/"), client.get("/p/img/guidelines/")]
    pages.append(client.get("/p/img/annotate/", HTTP_HX_REQUEST="true"))
    client.force_login(lead)
    pages.append(client.get("/p/img/lead/"))

    for response in pages:
        assert response.status_code == 200
        found = inventory(response)
        where = response.request["PATH_INFO"]
        assert found.inline_scripts == 0, where
        assert found.style_elements == 0, where
        assert found.style_attributes == [], where


def test_a_remote_markdown_image_is_a_link_not_an_image(client, remote_image_project):
    user, _ = make_annotator(remote_image_project, "kim")
    client.force_login(user)

    response = client.get("/p/img/annotate/")

    html = response.content.decode()
    assert inventory(response).images == []
    assert (
        '<a href="https://evil.example/p.png" rel="nofollow noopener noreferrer">'
        "image: a chart</a>" in html
    )


def test_the_renderer_emits_no_image_for_any_source():
    sources = [
        REMOTE_IMAGE,
        "![local](/static/x.png)",
        '![titled](https://evil.example/q.png "a title")',
        "[![nested](https://evil.example/n.png)](https://example.org)",
        "![ref][r]\n\n[r]: https://evil.example/r.png",
    ]
    for source in sources:
        assert "<img" not in render_markdown(source), source
    assert 'title="a title"' in render_markdown(sources[2])


def test_a_single_line_break_in_a_response_is_kept(client):
    project = make_project(slug="poem", likert_quorum=1, pairwise_quorum=1)
    add_items(
        project,
        prompts=1,
        responses=1,
        prompt_text="Write two lines",
        response_text="Roses are red,\nviolets are blue.",
    )
    user, _ = make_annotator(project, "kim")
    client.force_login(user)

    html = client.get("/p/poem/annotate/").content.decode()

    assert "<p>Roses are red,<br>\nviolets are blue.</p>" in html


def test_the_api_docs_run_under_the_policy(client, remote_image_project):
    user, _ = make_annotator(remote_image_project, "kim")
    client.force_login(user)

    page = client.get("/api/v1/docs/")
    script = client.get("/api/v1/docs/?script=")

    assert page.status_code == 200
    assert policy(page) == EXPECTED_POLICY
    assert inventory(page).inline_scripts == 0
    assert inventory(page).style_elements == 0
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
