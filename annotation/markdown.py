"""Markdown for prompts, responses, guidelines and criterion descriptions, made safe.

Two layers, so one bug is not enough for an injection:
1. markdown-it-py with raw HTML off: ``<script>`` in the source becomes text, not a tag.
2. nh3 (ammonia) cleans the produced HTML against an allow-list: no script/style/svg/iframe,
   no ``on*`` attribute, no style attribute, and URLs only with http, https or mailto
   (``javascript:``, ``data:``, ``vbscript:`` links lose their href).

Images are rendered as links ("image: alt text"), never as ``<img>``: content comes from
imports, and an image from another host would make every annotator's, lead's and
researcher's browser fetch it, telling that host their addresses. The CSP's
``img-src 'self' data:`` would block such an image anyway; a link keeps it reachable on
purpose. Single line breaks are kept (``breaks``): poems, addresses and terse code answers
depend on them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _image_as_link(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # markdown-it has already refused unsafe URLs here (validateLink); nh3 checks again.
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr}>image: {escapeHtml(alt or src)}</a>'


_md = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True}
).enable(["table", "strikethrough"])
_md.add_render_rule("image", _image_as_link)


def render_markdown(text: str | None) -> SafeString:
    """Sanitized HTML for a Markdown source, marked safe for templates."""
    if not text:
        return mark_safe("")
    return _render(text)


@functools.lru_cache(maxsize=2048)
def _render(text: str) -> SafeString:
    # Guidelines and criterion descriptions repeat on every task page; the cache holds them
    # (and recent items) per process. Pure function of the text, so caching is exact.
    html = _md.render(text)
    return mark_safe(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="nofollow noopener noreferrer",
            strip_comments=True,
        )
    )
