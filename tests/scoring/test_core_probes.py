"""Spurious-feature probes (DESIGN 6.4): the four perturbations and their statistics."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.backends.builtin import length_chars
from scoring.core.probes import (
    FLATTERY,
    MARKDOWN_HEADING,
    PAD_FALLBACK,
    PAD_TEMPLATES,
    PROBES,
    flattery,
    markdown,
    pad,
    perturb,
    probe_effect,
    probe_effects,
    response_rng,
    sample_indices,
    split_sentences,
    truncate,
)

PROMPT = "Why is the sky blue during the day but red at sunset?"
RESPONSE = (
    "The sky looks blue because air molecules scatter short wavelengths more strongly, "
    "as Lord Rayleigh showed in 1871. Blue light (about 450 nm) scatters roughly 5.5 times "
    "more than red light, e.g. at noon. At sunset the light crosses far more air, so most "
    "blue is scattered away before it reaches you. Dr. Ames calls this the long path effect! "
    "What remains is orange and red."
)
SENTENCES = [
    "The sky looks blue because air molecules scatter short wavelengths more strongly, "
    "as Lord Rayleigh showed in 1871.",
    "Blue light (about 450 nm) scatters roughly 5.5 times more than red light, e.g. at noon.",
    "At sunset the light crosses far more air, so most blue is scattered away before it "
    "reaches you.",
    "Dr. Ames calls this the long path effect!",
    "What remains is orange and red.",
]
CODE_RESPONSE = (
    "Use a list comprehension. It is short.\n\n"
    "```python\nsquares = [x * x for x in range(10)]  # e.g. 0. 1. 4.\n\nprint(squares)\n```\n"
    "That prints ten numbers."
)
WORD = re.compile(r"\w+(?:['’.\-]\w+)*")

# Random text built from pieces: any characters, plus the whitespace, punctuation and
# Markdown that the segmentation rules look at.
text = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
    | st.sampled_from(
        [" ", "\n", "\t", "\r\n", ". ", "! ", "? ", "e.g. ", "3.5", "```", "\n```\n", "- "]
    ),
    max_size=30,
).map("".join)


def _strip_markdown(result: str) -> list[str]:
    """The tokens of a ``markdown`` result minus the heading and one "- " per bullet line."""
    body = result.split("\n", 1)[1] if "\n" in result else ""
    assert result.startswith(MARKDOWN_HEADING + "\n\n")
    tokens, in_code = [], False
    for line in body.split("\n"):
        if re.match(r"^ {0,3}(`{3,}|~{3,})", line):
            in_code = not in_code
            tokens += line.split()
        elif not in_code and line.startswith("- "):
            tokens += line[2:].split()
        else:
            tokens += line.split()
    return tokens


# --- Purity and determinism ---------------------------------------------------------------


def test_probes_module_imports_no_django():
    code = (
        "import scoring.core.probes, sys; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_same_seed_gives_the_same_perturbations():
    for probe in PROBES:
        first = perturb(probe, PROMPT, RESPONSE, rng=response_rng(7, 42))
        second = perturb(probe, PROMPT, RESPONSE, rng=response_rng(7, 42))
        assert first == second


def test_only_pad_depends_on_the_seed():
    pads = {pad(PROMPT, RESPONSE, rng=response_rng(seed, 1)) for seed in range(20)}
    assert len(pads) > 1
    for probe in ("markdown", "flattery", "truncate"):
        outs = {perturb(probe, PROMPT, RESPONSE, rng=response_rng(seed, 1)) for seed in range(20)}
        assert len(outs) == 1


def test_a_response_rng_depends_on_the_response_key_not_on_draw_order():
    a = pad(PROMPT, RESPONSE, rng=response_rng(3, 10))
    response_rng(3, 11).integers(100, size=50)  # another response drawn in between
    assert pad(PROMPT, RESPONSE, rng=response_rng(3, 10)) == a


def test_unknown_probe_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="pad, markdown, flattery, truncate"):
        perturb("shout", PROMPT, RESPONSE, rng=response_rng(0, 0))


def test_sample_is_seeded_sorted_and_without_replacement():
    a = sample_indices(5000, rng=np.random.default_rng(1))
    b = sample_indices(5000, rng=np.random.default_rng(1))
    assert a.tolist() == b.tolist()
    assert a.size == 200 and len(set(a.tolist())) == 200
    assert a.tolist() == sorted(a.tolist()) and a.min() >= 0 and a.max() < 5000
    assert sample_indices(5000, rng=np.random.default_rng(2)).tolist() != a.tolist()
    assert sample_indices(150, rng=np.random.default_rng(1)).tolist() == list(range(150))
    assert sample_indices(0, rng=np.random.default_rng(1)).size == 0
    assert sample_indices(5000, rng=np.random.default_rng(1), size=10).size == 10


# --- pad -------------------------------------------------------------------------------------


def _filler_words_come_from_prompt_or_template(prompt: str, filler: str) -> None:
    allowed = set(WORD.findall(prompt)) | set(PAD_FALLBACK)
    for template in PAD_TEMPLATES:
        allowed |= set(WORD.findall(template))
    for token in filler.split():
        # Only template punctuation (",", ":", ".") may stand outside a word.
        assert set(WORD.sub("", token)) <= set(",:."), token
        for word in WORD.findall(token):
            assert word in allowed, word


def test_pad_appends_about_half_again_of_filler_restating_the_prompt():
    for seed in range(30):
        out = pad(PROMPT, RESPONSE, rng=response_rng(seed, 0))
        assert out.startswith(RESPONSE + "\n\n")
        target = math.ceil(1.5 * len(RESPONSE))
        longest = max(len(w) for w in WORD.findall(PROMPT + " " + " ".join(PAD_TEMPLATES)))
        assert target <= len(out) <= target + longest + 3
        assert 1.5 <= len(out) / len(RESPONSE) <= 1.55
        filler = out[len(RESPONSE) + 2 :]
        _filler_words_come_from_prompt_or_template(PROMPT, filler)
        assert filler.endswith(".") and not filler.endswith(":.")
        assert set(WORD.findall(filler)) & set(WORD.findall(PROMPT)) - {"the", "is"}


def test_pad_restates_a_wordless_prompt_with_the_fallback():
    out = pad("???", "A short answer that is long enough.", rng=response_rng(0, 0))
    _filler_words_come_from_prompt_or_template("", out.split("\n\n", 1)[1])


def test_pad_of_an_empty_response_is_empty_and_of_one_word_is_longer():
    assert pad(PROMPT, "", rng=response_rng(0, 0)) == ""
    out = pad(PROMPT, "Rayleigh", rng=response_rng(0, 0))
    assert out.startswith("Rayleigh\n\n") and len(out) >= math.ceil(1.5 * 8)


def test_pad_keeps_non_ascii_prompt_words():
    prompt = "Почему небо голубое? 空はなぜ青い"
    out = pad(prompt, "Из-за рассеяния Рэлея на молекулах воздуха.", rng=response_rng(5, 5))
    filler = out.split("\n\n", 1)[1]
    _filler_words_come_from_prompt_or_template(prompt, filler)


# --- markdown ----------------------------------------------------------------------------


def test_sentences_split_at_ends_but_not_at_abbreviations_or_decimals():
    assert split_sentences(RESPONSE) == SENTENCES


def test_markdown_lists_every_sentence_as_a_bullet_under_a_heading():
    out = markdown(PROMPT, RESPONSE)
    assert out == MARKDOWN_HEADING + "\n\n" + "\n".join("- " + s for s in SENTENCES)
    assert _strip_markdown(out) == RESPONSE.split()


def test_markdown_keeps_a_code_fence_verbatim_between_lists():
    out = markdown(PROMPT, CODE_RESPONSE)
    fence = (
        "```python\nsquares = [x * x for x in range(10)]  # e.g. 0. 1. 4.\n\nprint(squares)\n```"
    )
    assert out == (
        f"{MARKDOWN_HEADING}\n\n- Use a list comprehension.\n- It is short.\n\n{fence}\n\n"
        "- That prints ten numbers."
    )
    assert _strip_markdown(out) == CODE_RESPONSE.split()


def test_markdown_keeps_an_unclosed_fence_to_the_end():
    response = "Run this.\n~~~\nmake all. Then stop.\n"
    assert (
        markdown(PROMPT, response)
        == f"{MARKDOWN_HEADING}\n\n- Run this.\n\n~~~\nmake all. Then stop.\n"
    )


def test_markdown_of_empty_or_blank_response_is_unchanged_and_one_word_is_one_bullet():
    assert markdown(PROMPT, "") == ""
    assert markdown(PROMPT, " \n\t") == " \n\t"
    assert markdown(PROMPT, "Yes") == f"{MARKDOWN_HEADING}\n\n- Yes"


def test_markdown_splits_non_ascii_sentences():
    out = markdown(PROMPT, "Небо голубое. Закат красный! 空は青い。夕焼けは赤い。")
    assert (
        out
        == f"{MARKDOWN_HEADING}\n\n- Небо голубое.\n- Закат красный!\n- 空は青い。夕焼けは赤い。"
    )


# --- flattery ----------------------------------------------------------------------------


def test_flattery_prepends_the_exact_sentence():
    assert FLATTERY == "Great question! I am absolutely certain about this."
    assert flattery(PROMPT, RESPONSE) == FLATTERY + " " + RESPONSE
    assert flattery(PROMPT, "") == FLATTERY
    assert flattery(PROMPT, "Да.") == FLATTERY + " Да."


def test_flattery_leaves_a_blank_line_before_markdown_blocks():
    for response in ("# Title\ntext", "- a\n- b", "```\ncode\n```", "1. first"):
        assert flattery(PROMPT, response) == FLATTERY + "\n\n" + response


# --- truncate ----------------------------------------------------------------------------


def test_truncate_keeps_the_first_half_at_a_sentence_end():
    out = truncate(PROMPT, RESPONSE)
    # Sentence ends at 114, 202, 298 and 340 of 372 characters: 202 is nearest to 186.
    assert out == " ".join(SENTENCES[:2])
    assert abs(len(out) - len(RESPONSE) / 2) <= len(RESPONSE) / 4


def test_truncate_falls_back_to_the_word_end_nearest_the_middle():
    response = "one two three four five six seven eight"  # no sentence end inside
    assert truncate(PROMPT, response) == "one two three four"


def test_truncate_edge_cases():
    assert truncate(PROMPT, "") == ""
    assert truncate(PROMPT, "  ") == "  "
    assert truncate(PROMPT, "Rayleigh") == ""
    assert truncate(PROMPT, "Небо голубое сегодня вечером") == "Небо голубое"
    out = truncate(PROMPT, CODE_RESPONSE)
    assert CODE_RESPONSE.startswith(out) and len(out) < len(CODE_RESPONSE)


# --- properties on random text -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(prompt=text, response=text, seed=st.integers(0, 2**32 - 1))
def test_pad_properties(prompt, response, seed):
    out = pad(prompt, response, rng=response_rng(seed, 0))
    assert out == pad(prompt, response, rng=response_rng(seed, 0))
    if not response:
        assert out == ""
        return
    assert out.startswith(response + "\n\n")
    words = WORD.findall(prompt) or list(PAD_FALLBACK)
    longest = max(len(w) for w in words + " ".join(PAD_TEMPLATES).split())
    target = math.ceil(1.5 * len(response))
    assert target <= len(out) <= target + longest + 3
    _filler_words_come_from_prompt_or_template(prompt, out[len(response) + 2 :])


@settings(max_examples=200, deadline=None)
@given(response=text)
def test_markdown_properties(response):
    out = markdown(PROMPT, response)
    if not response.split():
        assert out == response
        return
    # Only whitespace, the heading and "- " markers were added (which lines are code is
    # the module's own call, so the bullets are compared as a multiset of "-" tokens).
    tokens = out.split()
    assert tokens[:2] == MARKDOWN_HEADING.split()
    assert [t for t in tokens[2:] if t != "-"] == [t for t in response.split() if t != "-"]
    assert tokens.count("-") >= response.split().count("-")
    assert " ".join(split_sentences(response)).split() == response.split()


@settings(max_examples=200, deadline=None)
@given(response=text)
def test_truncate_properties(response):
    out = truncate(PROMPT, response)
    if not response.split():
        assert out == response
        return
    assert response.startswith(out) and len(out) < len(response)
    # Cut at a boundary: after a whole token (or at the start), never mid-word.
    assert out == "" or (not out[-1].isspace() and response[len(out)].isspace())
    assert out.split() == response.split()[: len(out.split())]


@settings(max_examples=100, deadline=None)
@given(response=text)
def test_flattery_properties(response):
    out = flattery(PROMPT, response)
    assert out.startswith(FLATTERY) and out.endswith(response)
    assert len(out) - len(response) - len(FLATTERY) in ((0, 1, 2) if response else (0,))


# --- statistics ------------------------------------------------------------------------------


def _length_effects(probes: tuple[str, ...], seed: int = 11):
    responses = [
        RESPONSE,
        CODE_RESPONSE,
        "Yes, it is.",
        "Небо голубое из-за рассеяния Рэлея. Закат красный.",
        "Short answer. " * 20,
    ]
    original = np.array([length_chars(r) for r in responses])
    perturbed = {
        probe: np.array(
            [
                length_chars(perturb(probe, PROMPT, r, rng=response_rng(seed, i)))
                for i, r in enumerate(responses)
            ]
        )
        for probe in probes
    }
    return probe_effects(original, perturbed, rng=np.random.default_rng(seed))


def test_length_chars_prefers_pad_every_time_and_truncate_never():
    effects = _length_effects(PROBES)
    padded, cut = effects["pad"], effects["truncate"]
    assert padded.prefers_perturbed.value == 1.0
    assert (padded.prefers_perturbed.ci_low, padded.prefers_perturbed.ci_high) == (1.0, 1.0)
    assert padded.mean_change.value > 0 and padded.mean_change.ci_low > 0
    assert cut.prefers_perturbed.value == 0.0
    assert (cut.prefers_perturbed.ci_low, cut.prefers_perturbed.ci_high) == (0.0, 0.0)
    assert cut.prefers_original.value == 1.0 and cut.ties.value == 0.0
    assert cut.mean_change.ci_high < 0
    assert effects["flattery"].prefers_perturbed.value == 1.0
    assert padded.prefers_perturbed.n_units == 5 and padded.n_excluded == 0


def test_lower_is_better_flips_the_preference_but_not_the_change():
    original = np.array([1.0, 2.0, 3.0, 4.0])
    perturbed = original + np.array([1.0, 1.0, -1.0, 0.0])
    up = probe_effect(original, perturbed)
    down = probe_effect(original, perturbed, higher_is_better=False)
    assert (up.prefers_perturbed.value, up.prefers_original.value, up.ties.value) == (
        0.5,
        0.25,
        0.25,
    )
    assert (down.prefers_perturbed.value, down.prefers_original.value) == (0.25, 0.5)
    assert up.mean_change.value == down.mean_change.value == 0.25
    assert up.mean_change.ci_low is None and up.mean_change.n_resamples == 0


def test_ties_within_the_tolerance_count_for_neither_side():
    original = np.array([0.5, 0.5, 0.5])
    effect = probe_effect(original, original + np.array([1e-9, -1e-9, 0.2]), tie_tolerance=1e-6)
    assert effect.ties.value == pytest.approx(2 / 3)
    assert effect.prefers_perturbed.value == pytest.approx(1 / 3)
    exact = probe_effect(original, original + np.array([1e-9, -1e-9, 0.2]))
    assert exact.ties.value == 0.0


def test_missing_scores_are_excluded_and_no_scores_is_undefined():
    original = np.array([1.0, np.nan, 3.0])
    effect = probe_effect(original, np.array([2.0, 5.0, np.inf]), rng=np.random.default_rng(0))
    assert effect.n_excluded == 2 and effect.mean_change.value == 1.0
    assert (effect.mean_change.ci_low, effect.mean_change.ci_high) == (1.0, 1.0)
    empty = probe_effect(np.array([]), np.array([]), rng=np.random.default_rng(0))
    assert not empty.mean_change.defined and "no sampled response" in empty.mean_change.reason
    assert not empty.prefers_perturbed.defined
    with pytest.raises(ValueError, match="3 perturbed scores for 2"):
        probe_effect(np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]))


def test_bootstrap_is_seeded_and_equals_a_plain_loop_over_resamples():
    rng = np.random.default_rng(5)
    original = rng.normal(size=40)
    perturbed = original + rng.normal(0.3, 1.0, size=40)
    perturbed[3] = np.nan
    a = probe_effect(original, perturbed, rng=np.random.default_rng(9), n_resamples=300)
    b = probe_effect(original, perturbed, rng=np.random.default_rng(9), n_resamples=300)
    assert a == b
    # The same resamples drawn one index vector at a time, each statistic recomputed.
    loop_rng = np.random.default_rng(9)
    draws = loop_rng.integers(0, 40, size=(300, 40))
    means, shares = [], []
    for idx in draws:
        o, p = original[idx], perturbed[idx]
        keep = np.isfinite(o) & np.isfinite(p)
        means.append(np.mean(p[keep] - o[keep]))
        shares.append(np.mean(p[keep] > o[keep]))
    assert a.mean_change.ci_low == pytest.approx(np.percentile(means, 2.5))
    assert a.mean_change.ci_high == pytest.approx(np.percentile(means, 97.5))
    assert a.prefers_perturbed.ci_low == pytest.approx(np.percentile(shares, 2.5))
    assert a.prefers_perturbed.ci_high == pytest.approx(np.percentile(shares, 97.5))
