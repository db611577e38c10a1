"""Hostile prompts and responses render inert on both task pages (DESIGN 4.3)."""

import re
from html.parser import HTMLParser

import pytest

from annotation.markdown import render_markdown
from annotation.models import Prompt, Response

from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db

CORPUS = [
    "<script>alert('x')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x" onerror="alert(1)](https://example.org/a.png)',
    '[x](https://example.org/" onmouseover="alert(1))',
    "<!-- <script>alert(1)</script> -->",
    "<!--><img src=x onerror=alert(1)>-->",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<details open ontoggle="alert(1)">x</details>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<object data="javascript:alert(1)"></object><embed src=javascript:alert(1)>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "`<script>alert(1)</script>` and ```\n<script>alert(1)</script>\n```",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<https://example.org/ok> and <javascript:alert(1)>",
    "</textarea><script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "{{ request }} {% csrf_token %}",
]
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
BAD_TAGS = {
    "script",
    "svg",
    "iframe",
    "object",
    "embed",
    "style",
    "math",
    "form",
    "details",
    "base",
    "link",
    "meta",
}


class Audit(HTMLParser):
    """Collects every tag, attribute and comment the browser would see."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            # No element has a style attribute: the CSP (style-src 'self') would block it.
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name in {"href", "src", "action", "formaction", "xlink:href", "data"} and value:
                cleaned = re.sub(r"[\x00-\x20]", "", value).lower()
                if cleaned.startswith(BAD_SCHEMES):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    def handle_comment(self, data):
        self.problems.append(f"comment {data!r}")


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser


@pytest.mark.parametrize("source", CORPUS)
def test_the_markdown_renderer_neutralizes(source):
    result = audit(render_markdown(source))
    assert result.problems == []
    assert not BAD_TAGS & set(result.tags)


def test_markdown_still_renders_code_blocks_lists_tables_and_safe_links():
    html = render_markdown(
        "Intro with [a link](https://example.org)\n\n- one\n- two\n\n1. first\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<hi>')\n```\n"
    )
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">a link</a>' in html
    assert "<ul>" in html and "<ol>" in html and "<table>" in html and "<td>2</td>" in html
    assert "<pre><code>print('&lt;hi&gt;')" in html


@pytest.fixture
def hostile():
    project = make_project(slug="xss", likert_quorum=1, pairwise_quorum=1, pairwise_weight=0.0)
    add_items(project, prompts=len(CORPUS), responses=2)
    prompts = list(Prompt.objects.filter(project=project).order_by("id"))
    for i, prompt in enumerate(prompts):
        prompt.text = CORPUS[i]
        prompt.save(update_fields=["text"])
        for j, response in enumerate(Response.objects.filter(prompt=prompt).order_by("id")):
            response.text = CORPUS[(i + j + 1) % len(CORPUS)]
            response.save(update_fields=["text"])
    return project


def _task_pages(client, project, kind):
    """Every task of ``kind`` in the project, as the HTMX partial and as the full page."""
    from annotation.models import Task

    Task.objects.exclude(kind=kind).update(unlocked=False)
    Task.objects.filter(kind=kind).update(unlocked=True)
    pages = []
    for n in range(len(CORPUS) if kind == "pairwise" else 2 * len(CORPUS)):
        user, _ = make_annotator(project, f"{kind}-{n}")
        client.force_login(user)
        full = client.get(f"/p/{project.slug}/annotate/").content.decode()
        partial = client.get(
            f"/p/{project.slug}/annotate/", HTTP_HX_REQUEST="true"
        ).content.decode()
        assert f'data-kind="{kind}"' in partial
        pages.append((full, partial))
    return pages


@pytest.mark.parametrize("kind", ["likert", "pairwise"])
def test_the_hostile_corpus_renders_inert_on_the_task_page(client, hostile, kind):
    from annotation.services.tasks import tasks_sync

    tasks_sync(project=hostile)
    pages = _task_pages(client, hostile, kind)
    for full, partial in pages:
        result = audit(partial)
        assert result.problems == []
        assert not (BAD_TAGS - {"form", "details"}) & set(result.tags)
        # The template's own: the task form and the skip form; guidelines, flags, skip and
        # shortcuts panels. Content adds none.
        assert (result.tags.count("form"), result.tags.count("details")) == (2, 4)
        # The full page's only scripts are the app's own, from static files.
        scripts = re.findall(r"<script\b[^>]*>", full, flags=re.I)
        assert scripts and all(re.search(r'src="/static/[^"]+\.js"', s) for s in scripts), scripts
        assert "alert(" not in re.sub(r"&[#\w]+;", "", " ".join(scripts))
    # The payloads are there, as text: rendered inert, not silently dropped.
    assert any(
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in p or "&lt;script&gt;alert('x')" in p
        for _, p in pages
    )
