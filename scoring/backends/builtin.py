"""Built-in metrics: no model, no GPU, no download (DESIGN 6.1)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .base import BackendError, Item, Scored, ScorerSpec

# Markdown structure, one line at a time (CommonMark's block starts, up to 3 spaces indent):
# ATX headings, bullet and ordered list items, table rows and code fences.
_STRUCTURE = re.compile(
    r"""^\ {0,3}(?:
        \#{1,6}(?:[ \t]|$)          # heading
      | [-*+][ \t]+\S               # bullet list item
      | \d{1,9}[.)][ \t]+\S         # ordered list item
      | \|                          # table row
      | (?:```|~~~)                 # fence
    )""",
    re.VERBOSE,
)


def length_chars(text: str) -> float:
    """Unicode code points of the response text (Python's len of a str)."""
    return float(len(text))


def length_words(text: str) -> float:
    """Whitespace-separated tokens (str.split with no argument); 0 for an empty text."""
    return float(len(text.split()))


def markdown_density(text: str) -> float:
    """Share of non-empty lines that are Markdown structure: headings, list items, table
    rows, fences. 0.0 for a text without a non-empty line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    return sum(1 for line in lines if _STRUCTURE.match(line)) / len(lines)


METRICS: dict[str, Callable[[str], float]] = {
    "length_chars": length_chars,
    "length_words": length_words,
    "markdown_density": markdown_density,
}


class BuiltinBackend:
    def __init__(self, spec: ScorerSpec):
        if spec.metric not in METRICS:
            raise BackendError(
                f"scorer '{spec.name}': unknown built-in metric '{spec.metric}'; "
                f"use one of {', '.join(METRICS)}"
            )
        self.metric = METRICS[spec.metric]
        self.device = self.label = "cpu"
        self.dtype = ""
        self.versions: dict[str, str] = {}

    def score(self, items: Sequence[Item]) -> list[Scored]:
        return [Scored(self.metric(item.response)) for item in items]
