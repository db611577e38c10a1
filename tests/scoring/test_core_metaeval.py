"""scoring.core.metaeval (DESIGN 6.3): hand-worked examples, published PandaLM figures,
scipy cross-checks and property tests. No database. (That the package imports no Django is
checked with the rest of scoring.core in test_core_scores.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from sklearn.metrics import precision_recall_fscore_support

from scoring.core.bootstrap import percentile_ci, resample_weights
from scoring.core.metaeval import (
    TIE,
    A,
    B,
    Resampler,
    _boot,
    acc_eq,
    accuracy_by_group,
    calibration,
    calibration_split,
    correlations,
    expected_calibration_error,
    judge_scores,
    length_bias,
    length_correlation,
    noise_ceiling_likert,
    noise_ceiling_votes,
    pairwise_accuracy,
    score_derived_pairs,
    system_correlations,
    tau_by_group,
    voted_pairs,
)
from scoring.core.metaeval.correlation import average_ranks, flat_rho, per_prompt
from scoring.core.metaeval.pairs import Pairs
from scoring.core.results import Estimate
from tests.conftest import shared_data

FAST = settings(max_examples=25, deadline=None, derandomize=True)


def labelled(labels, gaps, prompts=None) -> tuple[Pairs, np.ndarray]:
    """Pairs (2k, 2k + 1) with the given labels; scores make s_a - s_b = gap."""
    labels = np.asarray(labels)
    n = labels.size
    scores = np.zeros(2 * n)
    scores[0::2] = gaps
    share = np.select([labels == A, labels == B], [1.0, 0.0], 0.5)
    prompt = np.arange(n) if prompts is None else np.asarray(prompts)
    pairs = Pairs("voted", prompt, np.arange(n) * 2, np.arange(n) * 2 + 1, labels, share)
    return pairs, scores


def test_voted_pairs_take_the_strict_plurality_and_count_the_rest():
    # Tallies (a, b, tie): 2/1/1 -> a (plurality, not a majority); 1/1/0 -> none;
    # 0/1/2 -> tie; 1/1/1 -> none; 0/3/0 -> b.
    pairs = voted_pairs(
        np.arange(5),
        np.arange(5),
        np.arange(5) + 10,
        [2, 1, 0, 1, 0],
        [1, 1, 1, 1, 3],
        [1, 0, 2, 1, 0],
    )
    assert pairs.label.tolist() == [A, TIE, B]
    assert pairs.excluded == 2
    # share_a = (a + tie / 2) / votes: (2 + 0.5) / 4, (0 + 1) / 3, 0 / 3.
    assert pairs.share_a.tolist() == pytest.approx([0.625, 1 / 3, 0.0])


def test_score_derived_pairs_use_the_tie_tolerance_and_skip_unscored_responses():
    # Prompt 0: finals 0.9, 0.5, 0.52 -> (0,1) a, (0,2) a, (1,2) tie (|0.02| <= 0.05).
    # Prompt 1: 0.3 and NaN -> no pair.
    pairs = score_derived_pairs(
        np.array([0, 0, 0, 1, 1]), np.array([0.9, 0.5, 0.52, 0.3, np.nan]), 0.05
    )
    got = sorted(zip(pairs.a.tolist(), pairs.b.tolist(), pairs.label.tolist(), strict=True))
    assert got == [(0, 1, A), (0, 2, A), (1, 2, TIE)]
    assert pairs.kind == "score_derived" and pairs.excluded == 0


def test_pairwise_accuracy_counts_a_scorer_tie_as_wrong_and_ignores_human_ties():
    # a preferred, gap +1: right; b preferred, gap 0: scorer tie, wrong; b preferred, gap -2:
    # right; human tie: left out. 2 / 3.
    pairs, scores = labelled([A, B, B, TIE], [1.0, 0.0, -2.0, 5.0])
    est = pairwise_accuracy(pairs, scores)
    assert est.value == pytest.approx(2 / 3)
    assert est.n_pairable == 3
    # Lower is better: both decided pairs turn wrong and the scorer tie stays wrong: 0 / 3.
    assert pairwise_accuracy(pairs, scores, higher_is_better=False).value == 0.0


def test_pairwise_accuracy_is_undefined_without_decided_pairs():
    pairs, scores = labelled([TIE, TIE], [1.0, 2.0])
    est = pairwise_accuracy(pairs, scores)
    assert est.value is None and "labelled a or b" in est.reason


def test_acc_eq_fits_epsilon_on_the_calibration_side_and_reports_the_evaluation_side():
    # Calibration gaps: a +3, a +0.5, tie 0.4, b -2. Candidates {0, 0.4, 0.5, 2, 3}:
    # eps 0 -> 3 right (3, 0.5, 2 > 0; tie 0.4 > 0 wrong); eps 0.4 -> 4 (tie now right);
    # eps 0.5 -> 3 (0.5 no longer > eps). So eps = 0.4 with acc_eq 4/4 there.
    cal, cal_scores = labelled([A, A, TIE, B], [3.0, 0.5, 0.4, -2.0])
    # Evaluation: a +0.3 (called a tie: wrong), tie 0.1 (right), b -1 (right): 2/3.
    ev, ev_scores = labelled([A, TIE, B], [0.3, 0.1, -1.0])
    ev = Pairs("voted", ev.prompt + 10, ev.a + 8, ev.b + 8, ev.label, ev.share_a)
    scores = np.r_[cal_scores, ev_scores]
    result = acc_eq(cal, ev, scores)
    assert result.epsilon == pytest.approx(0.4)
    assert result.calibration_acc_eq == 1.0
    assert result.acc_eq.value == pytest.approx(2 / 3)


def test_judge_scores_hand_worked_with_a_never_predicted_class():
    # Human a a b tie, judge a b b a. Accuracy 2/4. Precision: a 1/2, b 1/2, tie never
    # predicted -> 0 (zero_division=0): 1/3. Recall: a 1/2, b 1/1, tie 0/1: 0.5.
    # F1: a 0.5, b 2(.5)(1)/1.5 = 2/3, tie 0: (0.5 + 2/3) / 3 = 0.388...
    pairs, _ = labelled([A, A, B, TIE], [0, 0, 0, 0])
    verdicts = np.array([A, B, B, A])
    js = judge_scores(pairs, verdicts)
    assert js.accuracy.value == 0.5
    assert js.precision.value == pytest.approx(1 / 3)
    assert js.recall.value == pytest.approx(0.5)
    assert js.f1.value == pytest.approx(7 / 18)
    p, r, f, _ = precision_recall_fscore_support(
        pairs.label, verdicts, labels=[A, B, TIE], average="macro", zero_division=0
    )
    assert (js.precision.value, js.recall.value, js.f1.value) == pytest.approx((p, r, f))
    none = judge_scores(pairs, np.full(4, -1))
    assert none.accuracy.value is None and none.no_verdict == 4


@pytest.mark.parametrize(
    ("judge_file", "key", "published"),
    [
        ("gpt-3.5-turbo-testset-v1.json", "gpt_result", (0.7107, 0.5879, 0.5736, 0.5755)),
        ("pandalm-7b-testset-v1.json", "pandalm_result", (0.6677, 0.5738, 0.5750, 0.5743)),
    ],
)
def test_pandalm_judge_figures_match_the_published_ones(judge_file, key, published):
    records = json.loads(shared_data("pandalm", "testset-v1.json").read_text())
    judged = json.loads(shared_data("pandalm", judge_file).read_text())
    human = {1: A, 2: B, 0: TIE}
    votes = np.array([[human[r[f"annotator{k}"]] for k in (1, 2, 3)] for r in records])
    tallies = [(votes == c).sum(axis=1) for c in (A, B, TIE)]
    n = len(records)
    pairs = voted_pairs(np.arange(n), 2 * np.arange(n), 2 * np.arange(n) + 1, *tallies)
    # The authors map Tie and garbage to the tie class.
    verdict = {"1": A, "2": B, "0": TIE, "Tie": TIE, "garbage": TIE}
    js = judge_scores(
        pairs, np.array([verdict[str(r[key])] for r in judged]), rng=np.random.default_rng(0)
    )
    got = (js.accuracy.value, js.precision.value, js.recall.value, js.f1.value)
    assert tuple(round(v, 4) for v in got) == published
    assert js.accuracy.ci_low < js.accuracy.value < js.accuracy.ci_high


def test_correlations_hand_worked_per_prompt_and_undefined_prompts_left_out():
    # Prompt 0: x 1 2 3, y 1 3 2: pairs (1,2) and (1,3) concordant, (2,3) discordant:
    # tau_b = 1/3; rho = 1 - 6 * (0 + 1 + 1) / (3 * 8) = 0.5.
    # Prompt 1: constant human values -> undefined. Prompt 2: one response -> undefined.
    prompt = np.array([0, 0, 0, 1, 1, 2])
    x = np.array([1.0, 2, 3, 1, 2, 7])
    y = np.array([1.0, 3, 2, 4, 4, 1])
    c = correlations(prompt, x, y, rng=np.random.default_rng(1), n_resamples=200)
    assert c.tau_prompt.value == pytest.approx(1 / 3) and c.tau_prompt.n_units == 1
    assert c.rho_prompt.value == pytest.approx(0.5)
    assert c.tau_flat.value == pytest.approx(stats.kendalltau(x, y).statistic)
    assert c.rho_flat.value == pytest.approx(stats.spearmanr(x, y).statistic)
    empty = correlations(np.array([0, 1]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert empty.tau_prompt.value is None and "non-constant" in empty.tau_prompt.reason


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=30
    )
)
def test_per_prompt_tau_b_and_rho_equal_scipy(rows):
    prompt, x, y = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    pp = per_prompt(prompt.astype(int), x, y)
    for k, pid in enumerate(pp.prompt_ids):
        px, py = x[prompt == pid], y[prompt == pid]
        if px.size < 2 or np.ptp(px) == 0 or np.ptp(py) == 0:
            assert np.isnan(pp.tau[k]) and np.isnan(pp.rho[k])
            continue
        assert pp.tau[k] == pytest.approx(stats.kendalltau(px, py).statistic)
        assert pp.rho[k] == pytest.approx(stats.spearmanr(px, py).statistic)


@FAST
@given(st.lists(st.integers(-3, 3) | st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_average_ranks_equal_scipy_rankdata_and_flat_rho_equals_spearmanr(values):
    # Few distinct integers make long ties; floats make none.
    v = np.array(values, dtype=float)
    assert np.array_equal(average_ranks(v), stats.rankdata(v))
    w = np.roll(v, 1) * 2 + np.arange(v.size) % 3
    rho = flat_rho(v, w)
    if v.size < 2 or np.ptp(v) == 0 or np.ptp(w) == 0:
        assert rho.value is None
    else:
        assert rho.value == pytest.approx(stats.spearmanr(v, w).statistic, abs=1e-12)


def test_system_correlations_over_generator_means():
    # Model means: scores 1, 2, 3 and human 0.1, 0.3, 0.2. Kendall: one discordant pair of
    # three -> 1/3. Pearson: centered x (-1, 0, 1), y (-0.1, 0.1, 0): 0.1 / sqrt(2 * 0.02) = 0.5.
    prompt = np.arange(6)
    generator = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([0.5, 1.5, 2.0, 2.0, 3.0, 3.0])
    human = np.array([0.1, 0.1, 0.2, 0.4, 0.2, 0.2])
    sc = system_correlations(
        prompt, generator, scores, human, rng=np.random.default_rng(0), n_resamples=200
    )
    assert sc.kendall.value == pytest.approx(1 / 3)
    assert sc.pearson.value == pytest.approx(0.5)
    one = system_correlations(prompt, np.zeros(6), scores, human)
    assert one.pearson.value is None and "2 generator models" in one.pearson.reason


def test_expected_calibration_error_hand_worked():
    # p 0.9 0.9 0.6 0.3, share of a 1 0 1 0. Confidence 0.9 0.9 0.6 0.7; the likelier side
    # (a a a b) was the humans' choice 1 0 1 1. Bins: 0.9 (n 2, acc 0.5), 0.6 (acc 1),
    # 0.7 (acc 1): ECE = 2/4 * 0.4 + 1/4 * 0.4 + 1/4 * 0.3 = 0.375.
    ece = expected_calibration_error(np.array([0.9, 0.9, 0.6, 0.3]), np.array([1.0, 0, 1, 0]))
    assert ece == pytest.approx(0.375)


def test_temperature_fits_exact_soft_labels_and_leaves_no_calibration_error():
    # Vote shares exactly sigmoid(d / 2): the log-loss minimizer is T = 2, and with p = y in
    # every pair each bin's accuracy equals its confidence.
    gaps = np.linspace(-6, 6, 41)
    pairs, scores = labelled(np.where(gaps > 0, A, B), gaps)
    pairs = Pairs("voted", pairs.prompt, pairs.a, pairs.b, pairs.label, special.expit(gaps / 2))
    cal = calibration(pairs, pairs, scores, rng=np.random.default_rng(0), n_resamples=200)
    assert cal.temperature == pytest.approx(2.0, rel=1e-4)
    assert cal.scaled.ece.value == pytest.approx(0.0, abs=1e-4)
    assert cal.raw.ece.value > 0.05
    assert cal.scaled.bin_count.sum() == 41
    assert cal.isotonic.ece.value < 0.05


def _bradley_terry(rng, n_prompts, strengths_per_prompt=3, votes=5):
    """Each prompt has 3 responses with N(0, 1) strengths; every pair gets 5 votes drawn
    with P(a) = sigmoid(strength_a - strength_b), no ties."""
    strength = rng.normal(size=n_prompts * strengths_per_prompt)
    prompt = np.repeat(np.arange(n_prompts), strengths_per_prompt)
    a, b = [], []
    for i, j in ((0, 1), (0, 2), (1, 2)):
        a.append(np.arange(n_prompts) * 3 + i)
        b.append(np.arange(n_prompts) * 3 + j)
    a, b = np.concatenate(a), np.concatenate(b)
    wins = rng.binomial(votes, special.expit(strength[a] - strength[b]))
    pairs = voted_pairs(prompt[a], a, b, wins, votes - wins, np.zeros_like(wins))
    return strength, prompt, pairs


def test_bradley_terry_votes_give_temperature_two_for_doubled_strengths():
    rng = np.random.default_rng(7)
    strength, prompt, pairs = _bradley_terry(rng, 2000)
    side = calibration_split(pairs.prompt, np.random.default_rng(3))
    cal, ev = pairs.subset(side), pairs.subset(~side)
    fit = calibration(cal, ev, 2 * strength, rng=np.random.default_rng(0), n_resamples=200)
    assert fit.temperature == pytest.approx(2.0, rel=0.1)
    assert fit.scaled.ece.value < 0.03
    over = calibration(cal, ev, 10 * strength, rng=np.random.default_rng(0), n_resamples=200)
    # Overconfident: sigmoid(10 (s_a - s_b)) before fitting is far off; accuracy is the same.
    assert over.raw.ece.value > 0.15
    assert pairwise_accuracy(ev, 10 * strength).value == pairwise_accuracy(ev, 2 * strength).value


def test_perfectly_calibrated_bernoulli_votes_have_ece_near_zero():
    rng = np.random.default_rng(11)
    strength, _, pairs = _bradley_terry(rng, 3000, votes=1)
    result = calibration(pairs, pairs, strength, rng=None)
    assert result.raw.ece.value < 0.02
    assert result.raw.ece.n_resamples == 0


def test_calibration_is_undefined_when_every_calibration_gap_is_zero():
    pairs, _ = labelled([A, B], [0.0, 0.0])
    result = calibration(pairs, pairs, np.zeros(4))
    assert result.temperature is None and result.reason == "every calibration pair has equal scores"


def test_rank_figures_are_invariant_to_increasing_transforms_but_raw_calibration_is_not():
    rng = np.random.default_rng(5)
    strength, prompt, pairs = _bradley_terry(rng, 300)
    moved = np.exp(strength) * 3 + 1
    assert pairwise_accuracy(pairs, moved).value == pairwise_accuracy(pairs, strength).value
    human = strength + np.random.default_rng(1).normal(size=strength.size)
    t1, t2 = correlations(prompt, strength, human), correlations(prompt, moved, human)
    assert t1.tau_prompt.value == pytest.approx(t2.tau_prompt.value)
    assert t1.rho_prompt.value == pytest.approx(t2.rho_prompt.value)
    raw1 = calibration(pairs, pairs, strength).raw.ece.value
    raw2 = calibration(pairs, pairs, moved).raw.ece.value
    assert abs(raw1 - raw2) > 0.01


def test_a_scorer_equal_to_the_finals_is_perfect_and_a_reversed_one_is_perfectly_wrong():
    prompt = np.repeat(np.arange(4), 3)
    final = np.array([0.1, 0.5, 0.9, 0.3, 0.2, 0.8, 0.6, 0.7, 0.1, 0.4, 0.5, 0.45])
    pairs = score_derived_pairs(prompt, final, 0.0)
    assert pairwise_accuracy(pairs, final).value == 1.0
    assert correlations(prompt, final, final).tau_prompt.value == 1.0
    assert pairwise_accuracy(pairs, -final).value == 0.0
    assert correlations(prompt, -final, final).tau_prompt.value == -1.0


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(-3, 3), st.booleans()), min_size=1, max_size=40
    )
)
def test_accuracy_of_the_final_is_one_and_flipping_direction_gives_one_minus(rows):
    prompt = np.array([r[0] for r in rows])
    gaps = np.array([float(r[1]) for r in rows])
    labels = np.where(gaps > 0, A, np.where(gaps < 0, B, TIE))
    pairs, scores = labelled(labels, gaps, prompt)
    est = pairwise_accuracy(pairs, scores)
    if not (labels != TIE).any():
        assert est.value is None
        return
    assert est.value == 1.0
    # Noisy scorer: flip half the scores; on pairs it does not tie, direction flips accuracy.
    noisy = np.where(np.array([r[2] for r in rows]).repeat(2), -scores, scores)
    untied = noisy[pairs.a] != noisy[pairs.b]
    sub = pairs.subset(untied)
    if (sub.label != TIE).any():
        up = pairwise_accuracy(sub, noisy).value
        down = pairwise_accuracy(sub, noisy, higher_is_better=False).value
        assert up + down == pytest.approx(1.0)


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from([A, B]), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 2**32 - 1),
)
def test_vectorized_bootstrap_equals_a_loop_over_resamples(rows, seed):
    prompt = np.array([r[0] for r in rows])
    labels = np.array([r[1] for r in rows])
    gaps = np.where(np.array([r[2] for r in rows]), 1.0, -1.0) * np.where(labels == A, 1, -1)
    pairs, scores = labelled(labels, gaps, prompt)
    est = pairwise_accuracy(pairs, scores, rng=np.random.default_rng(seed), n_resamples=50)
    ids = np.unique(prompt)
    weights = resample_weights(np.random.default_rng(seed), ids.size, 50)
    loop = []
    for w in weights:
        drawn = np.repeat(ids, w.astype(int))
        correct = [
            float(np.sum((prompt == p) & (gaps * np.where(labels == A, 1, -1) > 0))) for p in drawn
        ]
        judged = [float(np.sum(prompt == p)) for p in drawn]
        loop.append(sum(correct) / sum(judged))
    assert (est.ci_low, est.ci_high) == pytest.approx(percentile_ci(np.array(loop)))
    assert est.ci_low <= est.value <= est.ci_high


def test_length_bias_hand_worked():
    # Lengths 10, 20, 30, 30. Pairs: (0,1) votes b 3 -> humans want the longer (share 1);
    # (0,2) votes a 2 b 1 -> longer gets 1/3; (2,3) same length -> left out.
    # Scorer = length: prefers the longer every time. P(humans prefer longer) = (1 + 1/3) / 2.
    lengths = np.array([10.0, 20.0, 30.0, 30.0])
    pairs = voted_pairs(
        np.array([0, 1, 2]),
        np.array([0, 0, 2]),
        np.array([1, 2, 3]),
        [0, 2, 1],
        [3, 1, 1],
        [0, 0, 1],
    )
    bias = length_bias(pairs, lengths, lengths, rng=np.random.default_rng(0), n_resamples=100)
    assert length_correlation(lengths, lengths).value == pytest.approx(1.0)
    assert bias.scorer_prefers_longer.value == 1.0
    assert bias.humans_prefer_longer.value == pytest.approx(2 / 3)


def test_accuracy_per_length_tertile_uses_the_gap_quantiles():
    # Gaps 1..9: cuts at 1 + 8/3 and 1 + 16/3 -> tertiles {1,2,3}, {4,5,6}, {7,8,9}. Humans
    # prefer the longer; the scorer agrees only when the gap is above 6: accuracy 0, 0, 1.
    gap = np.arange(1.0, 10.0)
    lengths = np.r_[gap, np.zeros(9)]
    pairs = Pairs("voted", np.arange(9), np.arange(9), np.arange(9) + 9, np.full(9, A), np.ones(9))
    scores = np.r_[np.where(gap > 6, 1.0, -1.0), np.zeros(9)]
    bias = length_bias(pairs, scores, lengths, rng=None)
    assert bias.tertile_cuts == pytest.approx((1 + 8 / 3, 1 + 16 / 3))
    assert [t.value for t in bias.tertile_accuracy] == [0.0, 0.0, 1.0]
    assert bias.scorer_prefers_longer.value == pytest.approx(3 / 9)


def test_noise_ceiling_from_leave_one_out_pluralities_hand_worked():
    # Pair 0: a a b. The a voters see others {a, b}: no plurality, skipped; the b voter sees
    # {a, a}: disagrees. Pair 1: a a a: three agreements. Ceiling 3/4; per annotator 1, 1, 0.5.
    ceiling = noise_ceiling_votes(
        np.array([0, 0, 0, 1, 1, 1]),
        np.array([0, 0, 0, 1, 1, 1]),
        np.array([0, 1, 2, 0, 1, 2]),
        np.array([A, A, B, A, A, A]),
        3,
        rng=np.random.default_rng(0),
        n_resamples=100,
    )
    assert ceiling.value.value == pytest.approx(0.75)
    assert ceiling.per_annotator.tolist() == [1.0, 1.0, 0.5]
    assert ceiling.n.tolist() == [1, 1, 2]


def test_likert_noise_ceiling_is_the_weighted_mean_of_leave_one_out_spearman():
    unit = np.tile(np.arange(4), 3)
    annotator = np.repeat(np.arange(3), 4)
    value = np.array([1.0, 2, 3, 4, 1, 2, 3, 4, 1, 3, 2, 4])
    ceiling = noise_ceiling_likert(unit, annotator, value, 3)
    expected = []
    for k in range(3):
        mine = value[annotator == k]
        others = value[annotator != k].reshape(2, 4).mean(axis=0)
        expected.append(stats.spearmanr(mine, others).statistic)
    assert ceiling.per_annotator == pytest.approx(expected)
    assert ceiling.value.value == pytest.approx(np.mean(expected))
    alone = noise_ceiling_likert(np.arange(3), np.zeros(3, int), np.ones(3), 1)
    assert alone.value.value is None and "shared responses" in alone.value.reason


def test_breakdowns_by_domain_and_generator():
    # Four pairs; domains 0 0 1 1; generators (0,1) (0,1) (1,2) (1,2). Scorer right on pairs
    # 0 and 2 only. Domain 0: 1/2, domain 1: 1/2; generator 0: 1/2, 1: 2/4, 2: 1/2.
    pairs, scores = labelled([A, A, A, A], [1.0, -1.0, 1.0, -1.0])
    by_domain = accuracy_by_group(pairs, scores, np.array([0, 0, 1, 1]))
    assert {g: e.value for g, e in by_domain.items()} == {0: 0.5, 1: 0.5}
    gens = np.array([[0, 1], [0, 1], [1, 2], [1, 2]])
    by_gen = accuracy_by_group(pairs, scores, gens)
    assert {g: e.value for g, e in by_gen.items()} == {0: 0.5, 1: 0.5, 2: 0.5}
    assert by_gen[1].n_pairable == 4
    # tau by domain: prompt 0 (domain 0) perfectly ordered, prompt 1 (domain 1) reversed.
    prompt = np.array([0, 0, 0, 1, 1, 1])
    human = np.array([1.0, 2, 3, 1, 2, 3])
    score = np.array([1.0, 2, 3, 3, 2, 1])
    taus = tau_by_group(prompt, score, human, np.array([0, 0, 0, 1, 1, 1]), per_prompt_groups=True)
    assert {g: e.value for g, e in taus.items()} == {0: 1.0, 1: -1.0}
    flat = tau_by_group(prompt, score, human, np.array([0, 1, 0, 1, 0, 1]), per_prompt_groups=False)
    assert flat[0].value == pytest.approx(stats.kendalltau([1, 3, 2], [1, 3, 2]).statistic)


def test_calibration_split_keeps_each_prompt_on_one_side():
    prompts = np.repeat(np.arange(11), 3)
    side = calibration_split(prompts, np.random.default_rng(0))
    per_prompt_sides = {p: set(side[prompts == p].tolist()) for p in range(11)}
    assert all(len(s) == 1 for s in per_prompt_sides.values())
    assert sum(True in s for s in per_prompt_sides.values()) == 5
    again = calibration_split(prompts, np.random.default_rng(0))
    assert (side == again).all()


def test_a_shared_resampler_gives_the_same_intervals_as_its_generator():
    # Drawn over the same prompts with the same seed, the shared matrix is the generator's
    # draw, so figures agree; a prompt it was not drawn over is refused.
    pairs, scores = labelled(
        [A, B, A, B, A, A], [1.0, 1.0, -1.0, -2.0, 3.0, 1.0], [0, 0, 1, 2, 3, 4]
    )
    shared = Resampler.draw(np.arange(5), np.random.default_rng(4), 300)
    one = pairwise_accuracy(pairs, scores, rng=shared)
    two = pairwise_accuracy(pairs, scores, rng=np.random.default_rng(4), n_resamples=300)
    assert (one.ci_low, one.ci_high, one.n_resamples) == (two.ci_low, two.ci_high, 300)
    with pytest.raises(ValueError, match="without some of these prompts"):
        pairwise_accuracy(
            pairs, scores, rng=Resampler.draw(np.arange(3), np.random.default_rng(4), 10)
        )


def test_a_batch_gives_every_figure_the_interval_of_its_own_product():
    # Three ratios over the same prompts: one real, one all zeros (left out of the product)
    # and one equal to its denominator (a repeated column, answered once). Unsorted prompts
    # take compact's np.unique path, sorted ones its single pass.
    rng = np.random.default_rng(5)
    for prompt in (rng.integers(0, 40, 300), np.sort(rng.integers(0, 40, 300))):
        used = (rng.random(300) < 0.8).astype(float)
        numerators = (rng.random(300) * used, np.zeros(300), used)
        resampler = Resampler.draw(prompt, np.random.default_rng(2), 200)
        batch = _boot.Batch.over(resampler)
        each = [
            _boot.ratio_estimate(prompt, n, used, rng=resampler, empty_reason="-")
            for n in numerators
        ]
        pending = [
            _boot.ratio_estimate(prompt, n, used, rng=batch, empty_reason="-") for n in numerators
        ]
        with pytest.raises(RuntimeError, match="resolve its Batch"):
            pending[0].as_dict()
        resolved = batch.resolve({"figures": pending}, finish=Estimate.as_dict)["figures"]
        for ours, theirs in zip(resolved, each, strict=True):
            theirs = theirs.as_dict()
            assert ours.pop("reason") == theirs.pop("reason") == ""
            assert ours == pytest.approx(theirs, rel=1e-12)
        assert resolved[1]["ci_low"] == 0.0 and resolved[2]["ci_high"] == 1.0


def test_unscored_responses_are_left_out_and_empty_sides_are_undefined():
    pairs, scores = labelled([A, B], [1.0, -1.0])
    scores[0] = np.nan
    assert pairwise_accuracy(pairs, scores).n_pairable == 1
    nothing = np.full(4, np.nan)
    result = acc_eq(pairs, pairs, nothing)
    assert result.epsilon is None and "calibration pair" in result.acc_eq.reason
    assert (
        calibration(pairs, pairs, nothing).reason
        == "no calibration pair with both responses scored"
    )
    c = correlations(np.zeros(4, int), nothing, np.arange(4.0))
    assert c.tau_flat.value is None and c.tau_prompt.value is None


@FAST
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50))
def test_ece_is_zero_when_every_vote_share_equals_its_probability(ps):
    # Perfectly calibrated per pair, hence per bin: each bin's accuracy is its confidence.
    p = np.array(ps)
    assert expected_calibration_error(p, p) == pytest.approx(0.0, abs=1e-9)


def test_calibration_intervals_contain_their_estimates_and_bins_hold_every_pair():
    rng = np.random.default_rng(21)
    strength, _, pairs = _bradley_terry(rng, 400)
    side = calibration_split(pairs.prompt, np.random.default_rng(0))
    result = calibration(
        pairs.subset(side), pairs.subset(~side), strength, rng=np.random.default_rng(1)
    )
    for fitted in (result.raw, result.scaled, result.isotonic):
        for est in (fitted.ece, fitted.brier, fitted.log_loss):
            assert est.n_resamples == 1000
            assert est.ci_low <= est.value <= est.ci_high
        assert fitted.bin_count.sum() == (~side).sum()
        filled = fitted.bin_count > 0
        assert ((fitted.bin_confidence[filled] >= 0.5) & (fitted.bin_confidence[filled] <= 1)).all()


def test_grouped_accuracy_from_one_product_equals_each_groups_own_estimate():
    rng = np.random.default_rng(7)
    n = 300
    prompt = rng.integers(0, 60, n)
    labels = rng.choice([A, B, TIE], n)
    pairs, scores = labelled(labels, rng.normal(size=n), prompts=prompt)
    groups = rng.integers(0, 4, (n, 2))
    resampler = Resampler.draw(prompt, np.random.default_rng(1), 200)
    grouped = accuracy_by_group(pairs, scores, groups, rng=resampler)
    for g, est in grouped.items():
        alone = pairwise_accuracy(pairs.subset((groups == g).any(axis=1)), scores, rng=resampler)
        assert est == alone
