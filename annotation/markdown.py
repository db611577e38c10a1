"""Markdown for prompts, responses, guidelines and criterion descriptions, made safe.

Two layers, so one bug is not enough for an injection:
1. markdown-it-py with raw HTML off: ``<script>`` in the source becomes text, not a tag.
2. nh3 (ammonia) cleans the produced HTML against an allow-list: no script/style/svg/iframe,
   no ``on*`` attribute, no style attribute, and URLs only with http, https or mailto
   (``javascript:``, ``data:``, ``vbscript:`` links and images lose their href/src).
"""

from __future__ import annotations

import functools

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


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
