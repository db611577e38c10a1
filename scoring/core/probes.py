"""Spurious-feature probes (DESIGN 6.4): perturb a response, score both, measure the change.

Gehrmann (2025), "Reward Models are Metrics in a Trench Coat", asks that reward models be
checked like metrics for the surface features they reward. Four perturbations of a
(prompt, response), each deterministic; only ``pad`` draws random numbers, and only from
the ``rng`` it is given (``response_rng`` derives one per response from the run's seed):

- ``pad``: append neutral filler that restates the prompt, about +50% length.
- ``markdown``: the same sentences as a bulleted list under a heading.
- ``flattery``: prepend "Great question! I am absolutely certain about this."
- ``truncate``: drop the second half, cut at a sentence or word boundary.

A scorer that does not chase surface features prefers the original under ``truncate`` and
is indifferent or worse under the other three; ``length_chars`` is the known answer: it
prefers ``pad`` every time and ``truncate`` never. ``probe_effects`` gives, per probe, the
mean score change and the shares of responses where the scorer prefers the perturbed text,
the original, or neither, each with a bootstrap CI over responses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from .bootstrap import CONFIDENCE, N_RESAMPLES, percentile_ci, resample_blocks
from .results import Estimate, undefined

PROBES = ("pad", "markdown", "flattery", "truncate")
SAMPLE_SIZE = 200

FLATTERY = "Great question! I am absolutely certain about this."
MARKDOWN_HEADING = "## Answer"
PAD_SEPARATOR = "\n\n"
# Each sentence of the filler is one template followed by a run of the prompt's own words;
# the slot is always last so that a filler cut short still reads as a restatement.
PAD_TEMPLATES = (
    "To restate the question:",
    "In other words, the question is about",
    "The request concerns",
    "Put differently, this is about",
    "The question, once more:",
)
# Restated when the prompt has no word at all (an empty or punctuation-only prompt).
PAD_FALLBACK = ("the", "question", "as", "stated", "above")
PAD_RUN = (4, 12)  # words of the prompt per filler sentence, inclusive

# Words of a prompt: letters/digits (any script), joined by an apostrophe, hyphen or point
# ("don't", "state-of-the-art", "3.14"); surrounding punctuation is left out.
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")
_TOKEN = re.compile(r"\S+")
_LINE = re.compile(r"[^\n]+")
_LINE_WITH_END = re.compile(r"[^\n]*\n|[^\n]+$")
# CommonMark fences: up to 3 spaces, then 3+ backticks or tildes. A closing fence uses the
# same character, at least as many, and nothing else on the line.
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
# A Markdown block start on a line (heading, list item, quote, table row, fence).
_BLOCK_START = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|[-*+>|]|\d{1,9}[.)]|```|~~~)")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*$")
# Tokens ending in a point that do not end a sentence: titles and Latin abbreviations that
# rarely close one, single initials ("J.") and dotted acronyms ("e.g.", "U.S."). Decimals
# ("3.14") never qualify: a sentence only ends at whitespace.
_ABBREVIATIONS = frozenset(
    [
        "mr.",
        "mrs.",
        "ms.",
        "dr.",
        "prof.",
        "sr.",
        "jr.",
        "st.",
        "vs.",
        "cf.",
        "al.",
        "no.",
        "fig.",
        "figs.",
        "eq.",
        "approx.",
        "ca.",
        "resp.",
    ]
)
_INITIALS = re.compile(r"^[(\[\"'“‘]?(?:[^\W\d_]\.)+$")


def response_rng(seed: int, key: int) -> np.random.Generator:
    """The generator for one response's perturbation: ``SeedSequence([seed, key])`` with
    ``key`` the response's id, so a response's ``pad`` does not depend on which other
    responses were sampled or in what order they are perturbed."""
    return np.random.default_rng([seed, key])


def sample_indices(
    n_responses: int, *, rng: np.random.Generator, size: int = SAMPLE_SIZE
) -> np.ndarray:
    """Sorted indices of ``min(size, n_responses)`` responses drawn without replacement
    (``rng.choice``); every response when there are at most ``size``. Empty for none."""
    if n_responses <= 0 or size <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_responses <= size:
        return np.arange(n_responses, dtype=np.int64)
    return np.sort(rng.choice(n_responses, size=size, replace=False)).astype(np.int64)


# --- Text segmentation ------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[str, int, int]]:
    """("prose" | "code", start, end) spans of ``text`` in order. A fenced code block
    runs from its opening fence line to its closing fence line inclusive, or to the end of
    the text when it is never closed (as CommonMark renders it)."""
    blocks: list[tuple[str, int, int]] = []
    pos = prose_start = 0
    fence: str | None = None
    code_start = 0
    # Lines end at "\n" only, as in Markdown (str.splitlines would also split at U+2028).
    for line in _LINE_WITH_END.findall(text):
        stripped = line.rstrip("\r\n")
        if fence is None:
            opening = _FENCE_OPEN.match(stripped)
            if opening:
                if pos > prose_start:
                    blocks.append(("prose", prose_start, pos))
                fence, code_start = opening.group(1), pos
        else:
            closing = _FENCE_CLOSE.match(stripped)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                blocks.append(("code", code_start, pos + len(stripped)))
                fence, prose_start = None, pos + len(line)
        pos += len(line)
    if fence is not None:
        blocks.append(("code", code_start, len(text)))
    elif len(text) > prose_start:
        blocks.append(("prose", prose_start, len(text)))
    return blocks


def _ends_sentence(token: str, next_token: str) -> bool:
    if not _SENTENCE_END.search(token) or next_token[0].islower():
        return False
    if token.endswith(".") and not token.endswith(".."):
        bare = token.lstrip("([\"'“‘").lower()
        if bare in _ABBREVIATIONS or _INITIALS.match(token):
            return False
    return True


def _sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of prose ``text[start:end]``.

    Rule-based: a line break always ends a sentence (list items and headings are lines);
    within a line a sentence ends at the whitespace after a token ending in . ! ? or …
    (closing quotes and brackets allowed), unless the next token starts with a lowercase
    letter or the token is an abbreviation, an initial or a dotted acronym. Sentences only
    end at whitespace, so decimals, URLs and text without spaces (Chinese, Japanese) stay
    whole, and the text's whitespace-separated tokens are kept exactly.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, end):
        tokens = list(_TOKEN.finditer(line.group()))
        if not tokens:
            continue
        first = tokens[0].start()
        for here, after in zip(tokens, tokens[1:], strict=False):
            if _ends_sentence(here.group(), after.group()):
                spans.append((line.start() + first, line.start() + here.end()))
                first = after.start()
        spans.append((line.start() + first, line.start() + tokens[-1].end()))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; a fenced code block is one item, verbatim."""
    out: list[str] = []
    for kind, start, end in _blocks(text):
        if kind == "code":
            out.append(text[start:end])
        else:
            out.extend(text[a:b] for a, b in _sentence_spans(text, start, end))
    return out


# --- The four perturbations -------------------------------------------------------------


def pad(prompt: str, response: str, *, rng: np.random.Generator) -> str:
    """``response``, a blank line, then filler sentences that restate the prompt.

    Each filler sentence is one of ``PAD_TEMPLATES`` (chosen by ``rng``) followed by a run of
    4 to 12 consecutive words of the prompt (start and length from ``rng``, wrapping around
    the prompt's words; ``PAD_FALLBACK`` when the prompt has none) and a full stop. Words
    are appended one at a time until the text reaches the target, and the sentence in
    progress is then closed. So the filler holds only the prompt's words, template words
    and punctuation, and with T = ceil(1.5 * len(response)) and w the longest prompt word or template
    token used:

        T <= len(pad(prompt, response)) <= T + w + 3

    (3: the separator and a full stop when even one word overshoots a tiny response). An
    empty response is returned unchanged: +50% of nothing is nothing.
    """
    if not response:
        return response
    words = _WORD.findall(prompt) or list(PAD_FALLBACK)
    target = math.ceil(1.5 * len(response))
    parts = [response, PAD_SEPARATOR]
    length = len(response) + len(PAD_SEPARATOR)
    first = True
    while length < target or first:
        template = PAD_TEMPLATES[int(rng.integers(len(PAD_TEMPLATES)))]
        begin = int(rng.integers(len(words)))
        run = int(rng.integers(PAD_RUN[0], PAD_RUN[1] + 1))
        sentence = template.split() + [words[(begin + i) % len(words)] for i in range(run)]
        for i, word in enumerate(sentence):
            piece = word if first else " " + word
            if i == len(sentence) - 1:
                piece += "."
            parts.append(piece)
            length += len(piece)
            first = False
            if length >= target:
                if i < len(sentence) - 1:
                    # Close the sentence cut short; "question:." would read as a typo.
                    last = parts.pop().rstrip(",:;")
                    parts.append(last + ".")
                break
    return "".join(parts)


def markdown(prompt: str, response: str, *, rng: np.random.Generator | None = None) -> str:
    """The response's sentences (``split_sentences``) as a bulleted list under
    ``MARKDOWN_HEADING``: one "- " item per sentence, a fenced code block kept verbatim
    between lists. Only whitespace and the heading and bullet markers change, so
    ``markdown(...).split()`` minus those markers equals ``response.split()``. A response
    without a token is returned unchanged. ``prompt`` and ``rng`` are not used."""
    chunks: list[str] = []
    bullets: list[str] = []
    for kind, start, end in _blocks(response):
        if kind == "code":
            if bullets:
                chunks.append("\n".join(bullets))
                bullets = []
            chunks.append(response[start:end])
        else:
            bullets.extend("- " + response[a:b] for a, b in _sentence_spans(response, start, end))
    if bullets:
        chunks.append("\n".join(bullets))
    if not any(chunk.strip() for chunk in chunks):
        return response
    return "\n\n".join([MARKDOWN_HEADING, *chunks])


def flattery(prompt: str, response: str, *, rng: np.random.Generator | None = None) -> str:
    """``FLATTERY`` then the response: joined by one space, or by a blank line when the
    response opens with a Markdown block (a heading, list, quote, table or fence), which a
    space would turn into plain text. The prefix alone for an empty response."""
    if not response:
        return FLATTERY
    separator = "\n\n" if _BLOCK_START.match(response) else " "
    return FLATTERY + separator + response


def truncate(prompt: str, response: str, *, rng: np.random.Generator | None = None) -> str:
    """The first half of the response, cut at a boundary: ``response[:cut]`` where ``cut``
    is the end of a whitespace-separated token (or 0), never the last one, so the result
    is strictly shorter and never ends mid-word. Among those, the end of a sentence or of a
    code block within a quarter of the length from the middle (len / 2) wins, nearest
    first; otherwise the nearest token end. Ties go to the earlier cut. A one-word
    response becomes ""; a response without a token is returned unchanged."""
    ends = [m.end() for m in _TOKEN.finditer(response)]
    if not ends:
        return response
    cuts = [0, *ends[:-1]]
    middle = len(response) / 2
    boundaries = set()
    for kind, start, end in _blocks(response):
        if kind == "code":
            boundaries.add(end)
        else:
            boundaries.update(b for _, b in _sentence_spans(response, start, end))
    preferred = [c for c in cuts if c in boundaries and abs(c - middle) <= len(response) / 4]
    cut = min(preferred or cuts, key=lambda c: (abs(c - middle), c))
    return response[:cut]


PERTURBATIONS: dict[str, Callable[..., str]] = {
    "pad": pad,
    "markdown": markdown,
    "flattery": flattery,
    "truncate": truncate,
}


def perturb(probe: str, prompt: str, response: str, *, rng: np.random.Generator) -> str:
    """Apply the named probe (one of ``PROBES``)."""
    if probe not in PERTURBATIONS:
        raise ValueError(f"unknown probe {probe!r}; use one of {', '.join(PROBES)}")
    return PERTURBATIONS[probe](prompt, response, rng=rng)


# --- Statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeEffect:
    """One probe's effect on one scorer over the sampled responses (DESIGN 6.4).

    mean_change: mean of (perturbed score - original score), in the scorer's own units and
        sign (for a lower-is-better scorer a negative change is an improvement).
    prefers_perturbed / prefers_original / ties: shares of responses where the scorer
        ranks the perturbed text better, the original better, or neither (|change| <=
        tie_tolerance). "Better" respects higher_is_better. The three shares sum to 1: a
        tie counts for neither side and is reported on its own.
    n_excluded: sampled responses left out because a score was missing (NaN or infinite).
    """

    mean_change: Estimate
    prefers_perturbed: Estimate
    prefers_original: Estimate
    ties: Estimate
    n_excluded: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


_FIGURES = ("mean_change", "prefers_perturbed", "prefers_original", "ties")


def probe_effects(
    original: np.ndarray,
    perturbed: Mapping[str, np.ndarray],
    *,
    higher_is_better: bool = True,
    tie_tolerance: float = 0.0,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> dict[str, ProbeEffect]:
    """Per probe, the mean score change and the preference shares, with percentile
    bootstrap CIs over responses (Efron & Tibshirani 1993) when ``rng`` is given.

    ``original[i]`` and ``perturbed[probe][i]`` are one scorer's scores of sampled response
    i and of its perturbation. With d_i = perturbed_i - original_i (negated when lower is
    better, for the shares only) over the responses where both scores are finite:

        mean_change = mean_i (perturbed_i - original_i)
        prefers_perturbed = #{d_i > tol} / n,  prefers_original = #{d_i < -tol} / n,
        ties = #{|d_i| <= tol} / n

    Vectorized: one resample-weight matrix W over all sampled responses, shared by every
    probe and figure; each figure is a ratio (W @ numerator) / (W @ valid), so a response
    excluded for one probe simply weighs nothing there. Undefined with a reason when no
    response has both scores.
    """
    original = np.asarray(original, dtype=np.float64)
    names = list(perturbed)
    n = original.size
    columns, counts = [], {}
    for name in names:
        scores = np.asarray(perturbed[name], dtype=np.float64)
        if scores.shape != original.shape:
            raise ValueError(
                f"probe {name!r}: {scores.size} perturbed scores for {n} original scores"
            )
        valid = np.isfinite(original) & np.isfinite(scores)
        change = np.where(valid, scores - original, 0.0)
        better = change if higher_is_better else -change
        columns += [
            valid,
            change,
            valid & (better > tie_tolerance),
            valid & (better < -tie_tolerance),
            valid & (np.abs(better) <= tie_tolerance),
        ]
        counts[name] = int(valid.sum())
    per_unit = np.column_stack(columns).astype(np.float64) if columns else np.zeros((n, 0))
    totals = per_unit.sum(axis=0)

    samples: list[np.ndarray] = []
    if rng is not None and n_resamples > 0 and n > 0:
        for w in resample_blocks(rng, n, n_resamples):
            samples.append(w @ per_unit)
    resampled = np.concatenate(samples) if samples else None

    out = {}
    for p, name in enumerate(names):
        base, n_valid = 5 * p, counts[name]
        if n_valid == 0:
            reason = "no sampled response has both an original and a perturbed score"
            figures = {f: undefined(reason) for f in _FIGURES}
        else:
            figures = {}
            for f, figure in enumerate(_FIGURES, start=1):
                low = high = None
                if resampled is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratio = resampled[:, base + f] / resampled[:, base]
                    low, high = percentile_ci(ratio, confidence)
                figures[figure] = Estimate(
                    value=float(totals[base + f] / n_valid),
                    ci_low=low,
                    ci_high=high,
                    n_units=n_valid,
                    n_pairable=2 * n_valid,
                    n_resamples=n_resamples if resampled is not None else 0,
                )
        out[name] = ProbeEffect(**figures, n_excluded=n - n_valid)
    return out


def probe_effect(original: np.ndarray, perturbed: np.ndarray, **options) -> ProbeEffect:
    """``probe_effects`` for a single probe."""
    return probe_effects(original, {"probe": perturbed}, **options)["probe"]
