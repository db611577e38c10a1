"""Bradley-Terry strengths (scoring.core.bradley_terry): recovery of known strengths, the
choix package as the reference fit, PandaLM's human votes, invariants and degenerate cases.
No database."""

from __future__ import annotations

import json

import choix
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from scoring.core import bradley_terry as bt
from tests.conftest import shared_data

FAST = settings(max_examples=25, deadline=None, derandomize=True)


def _games(rng, strengths, n_prompts, votes=3, tie_share=0.0):
    """n_prompts prompts, each a game between two distinct random players with ``votes``
    votes drawn from Bradley-Terry with the given log-strengths; a share of the votes are
    ties (drawn first, independent of the strengths)."""
    n = len(strengths)
    a = rng.integers(0, n, n_prompts)
    b = (a + rng.integers(1, n, n_prompts)) % n
    p = special.expit(np.asarray(strengths)[a] - np.asarray(strengths)[b])
    ties = rng.binomial(votes, tie_share, n_prompts)
    wins_a = rng.binomial(votes - ties, p)
    return np.arange(n_prompts), a, b, wins_a, votes - ties - wins_a, ties


def _matrix(n, a, b, wins_a, wins_b, ties, prior=0.0):
    """choix's dense input: m[i, j] = wins of i over j, ties as halves; with a prior, an
    extra player n (the reference) with prior/2 wins each way against every player."""
    m = np.zeros((n + 1, n + 1) if prior else (n, n))
    np.add.at(m, (a, b), np.asarray(wins_a) + 0.5 * np.asarray(ties))
    np.add.at(m, (b, a), np.asarray(wins_b) + 0.5 * np.asarray(ties))
    if prior:
        played = (m[:n].sum(axis=1) + m[:n].sum(axis=0)[:n]) > 0
        m[n, :n] = m[:n, n] = np.where(played, prior / 2, 0.0)
    return m


def _choix(m, n):
    """choix's I-LSR maximum-likelihood fit, shifted so that the reference player (if
    any) is 0, then centred over the first n players like scoring.core."""
    theta = choix.ilsr_pairwise_dense(m, tol=1e-14, max_iter=100_000)
    if m.shape[0] > n:
        theta = theta - theta[n]
    return theta[:n] - theta[:n].mean()


def _values(ranking: bt.ModelRanking, names) -> np.ndarray:
    by_name = {p.player: p.strength.value for p in ranking.players}
    return np.array([np.nan if by_name[n] is None else by_name[n] for n in names])


# --- Recovery and reference fits -------------------------------------------------------


def test_it_recovers_the_order_and_strengths_of_a_synthetic_model_ranking():
    truth = np.array([1.0, 0.6, 0.2, -0.1, -0.6, -1.1])
    names = [f"model-{i}" for i in range(truth.size)]
    # Pure Bradley-Terry votes: ties drawn independently of the strengths would pull every
    # strength towards 0 (a tie is half a win each way), so this test has none.
    games = _games(np.random.default_rng(2024), truth, n_prompts=1500)
    ranking = bt.model_ranking(*games, names, rng=np.random.default_rng(0), n_resamples=300)
    assert ranking.order == names
    assert [p.rank for p in ranking.players] == [1, 2, 3, 4, 5, 6]
    fitted = _values(ranking, names)
    assert np.abs(fitted - truth).max() < 0.1  # truth has mean 0, like the fit
    assert fitted.mean() == pytest.approx(0.0, abs=1e-12)
    covered = [
        p.strength.ci_low <= t <= p.strength.ci_high
        for p, t in zip(ranking.players, truth, strict=True)
    ]
    assert sum(covered) >= 5
    assert ranking.n_resamples == 300 and ranking.resamples_dropped == 0
    assert all(p.strength.ci_low < p.strength.value < p.strength.ci_high for p in ranking.players)


def test_the_maximum_likelihood_fit_matches_choix_to_1e6():
    rng = np.random.default_rng(11)
    truth = rng.normal(size=7)
    prompt, a, b, wa, wb, t = _games(rng, truth, n_prompts=400, votes=2, tie_share=0.2)
    names = [str(i) for i in range(7)]
    ranking = bt.model_ranking(prompt, a, b, wa, wb, t, names, prior=0.0)
    assert ranking.reason == ""
    reference = _choix(_matrix(7, a, b, wa, wb, t), 7)
    np.testing.assert_allclose(_values(ranking, names), reference, atol=1e-6)


def test_the_fit_with_a_prior_matches_choix_with_a_reference_player_to_1e6():
    rng = np.random.default_rng(12)
    prompt, a, b, wa, wb, t = _games(rng, [2.0, 0.0, -2.0, 0.5], n_prompts=12, votes=3)
    names = ["w", "x", "y", "z"]
    for prior in (0.5, 1.0, 4.0):
        ranking = bt.model_ranking(prompt, a, b, wa, wb, t, names, prior=prior)
        reference = _choix(_matrix(4, a, b, wa, wb, t, prior=prior), 4)
        np.testing.assert_allclose(_values(ranking, names), reference, atol=1e-6)


def test_per_prompt_strengths_match_choix_prompt_by_prompt():
    rng = np.random.default_rng(3)
    sizes = rng.integers(2, 6, 40)
    prompts = np.repeat(np.arange(sizes.size), sizes)
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    a, b = [], []
    for s, k in zip(start, sizes, strict=True):
        i, j = np.triu_indices(k, 1)
        a.append(s + i)
        b.append(s + j)
    a, b = np.concatenate(a), np.concatenate(b)
    truth = rng.normal(scale=1.5, size=prompts.size)
    ties = rng.binomial(3, 0.15, a.size)
    wa = rng.binomial(3 - ties, special.expit(truth[a] - truth[b]))
    wb = 3 - ties - wa
    result = bt.per_prompt(prompts, a, b, wa, wb, ties)
    assert result.prompts_fitted == 40 and result.prompts_undefined == 0
    for p, (s, k) in enumerate(zip(start, sizes, strict=True)):
        mine = slice(s, s + k)
        rows = prompts[a] == p
        m = _matrix(k, a[rows] - s, b[rows] - s, wa[rows], wb[rows], ties[rows], prior=bt.PRIOR)
        np.testing.assert_allclose(result.strength[mine], _choix(m, k), atol=1e-6)
        # win_probability: the fitted P(beats j), averaged over the prompt's other responses.
        theta = result.strength[mine]
        expected = [
            np.mean([special.expit(theta[i] - theta[j]) for j in range(k) if j != i])
            for i in range(k)
        ]
        np.testing.assert_allclose(result.win_probability[mine], expected, atol=1e-12)


def test_a_three_nil_win_under_the_default_prior_has_the_documented_strength():
    result = bt.per_prompt(np.array([0, 0]), [0], [1], [3], [0], [0])
    # Stationarity for the winner: 3 sigmoid(2x) + 1 sigmoid(x) = 3 + 1/2.
    x = optimize.brentq(lambda x: 3 * special.expit(2 * x) + special.expit(x) - 3.5, 0, 10)
    np.testing.assert_allclose(result.strength, [x, -x], atol=1e-8)
    assert round(x, 2) == 1.17
    np.testing.assert_allclose(
        result.win_probability, [special.expit(2 * x)] * 1 + [special.expit(-2 * x)], atol=1e-8
    )


# --- Published data --------------------------------------------------------------------


def _pandalm_games():
    records = json.loads(shared_data("pandalm", "testset-v1.json").read_text())
    names = sorted({m for r in records for m in r["cmp_key"].split("_", 1)})
    index = {m: i for i, m in enumerate(names)}
    rows = []
    for r in records:
        first, second = r["cmp_key"].split("_", 1)
        for key in ("annotator1", "annotator2", "annotator3"):
            vote = r[key]  # 1: response1 better, 2: response2 better, 0: tie
            rows.append((r["idx"], index[first], index[second], vote == 1, vote == 2, vote == 0))
    return names, *(np.array(col) for col in zip(*rows, strict=True))


def test_pandalm_human_votes_rank_llama_first_and_cerebras_last():
    names, prompt, a, b, wa, wb, t = _pandalm_games()
    ranking = bt.model_ranking(
        prompt, a, b, wa, wb, t, names, rng=np.random.default_rng(0), n_resamples=200
    )
    assert ranking.order == ["llama-7b", "pythia-6.9b", "bloom-7b", "opt-7b", "cerebras-gpt-6.7B"]
    assert ranking.n_prompts == 999 and ranking.n_games == 2997
    top = ranking.players[0]
    assert top.wins + top.losses + top.ties == top.games
    # llama-7b's interval lies wholly above pythia-6.9b's: a clear first place.
    assert top.strength.ci_low > ranking.players[1].strength.ci_high


def test_pandalm_without_ties_reproduces_the_maximum_likelihood_figures_in_source_md():
    names, prompt, a, b, wa, wb, t = _pandalm_games()
    decided = ~t
    ranking = bt.model_ranking(
        prompt[decided],
        a[decided],
        b[decided],
        wa[decided],
        wb[decided],
        t[decided],
        names,
        prior=0.0,
    )
    assert [(p.player, round(p.strength.value, 3)) for p in ranking.players] == [
        ("llama-7b", 0.774),
        ("pythia-6.9b", 0.108),
        ("bloom-7b", -0.013),
        ("opt-7b", -0.247),
        ("cerebras-gpt-6.7B", -0.622),
    ]


# --- Invariants ----------------------------------------------------------------------------

games = st.lists(
    st.tuples(
        st.integers(0, 4),  # a
        st.integers(0, 4),  # b
        st.integers(0, 3),  # wins of a
        st.integers(0, 3),  # wins of b
        st.integers(0, 2),  # ties
    ),
    min_size=1,
    max_size=25,
)


def _columns(rows):
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    return np.arange(len(rows)), *cols


@FAST
@given(rows=games, perm=st.permutations(range(5)), prior=st.sampled_from([0.0, 1.0]))
def test_relabelling_the_players_relabels_the_strengths(rows, perm, prior):
    prompt, a, b, wa, wb, t = _columns(rows)
    names = [str(i) for i in range(5)]
    perm = np.array(perm)
    before = bt.model_ranking(prompt, a, b, wa, wb, t, names, prior=prior)
    after = bt.model_ranking(prompt, perm[a], perm[b], wa, wb, t, names, prior=prior)
    assert bool(before.reason) == bool(after.reason)  # the reason names a player
    np.testing.assert_allclose(
        _values(after, names)[perm], _values(before, names), atol=1e-6, equal_nan=True
    )


@FAST
@given(rows=games, prior=st.sampled_from([0.0, 1.0]))
def test_swapping_winners_and_losers_negates_the_strengths(rows, prior):
    prompt, a, b, wa, wb, t = _columns(rows)
    names = [str(i) for i in range(5)]
    forward = bt.model_ranking(prompt, a, b, wa, wb, t, names, prior=prior)
    backward = bt.model_ranking(prompt, a, b, wb, wa, t, names, prior=prior)
    np.testing.assert_allclose(
        _values(backward, names), -_values(forward, names), atol=1e-6, equal_nan=True
    )


@FAST
@given(rows=games)
def test_per_prompt_strengths_are_centred_and_agree_in_order_with_win_probability(rows):
    # One prompt of five responses.
    _, a, b, wa, wb, t = _columns(rows)
    keep = a != b
    result = bt.per_prompt(np.zeros(5, dtype=int), a[keep], b[keep], wa[keep], wb[keep], t[keep])
    ok = ~np.isnan(result.strength)
    if ok.any():
        assert result.strength[ok].mean() == pytest.approx(0.0, abs=1e-9)
        order = np.argsort(result.strength[ok])
        assert np.all(np.diff(result.win_probability[ok][order]) >= -1e-9)


def test_the_bootstrap_is_deterministic_given_the_seed():
    games = _games(np.random.default_rng(5), [0.5, 0.0, -0.5], n_prompts=60)
    names = ["a", "b", "c"]
    first = bt.model_ranking(*games, names, rng=np.random.default_rng(9), n_resamples=100)
    again = bt.model_ranking(*games, names, rng=np.random.default_rng(9), n_resamples=100)
    assert first.as_dict() == again.as_dict()
    json.dumps(first.as_dict())  # plain JSON for the run and the release


# --- Degenerate cases -------------------------------------------------------------------


def test_a_response_never_compared_is_undefined_and_the_others_are_fitted():
    prompts = np.array([0, 0, 0])
    result = bt.per_prompt(prompts, [0], [1], [2], [1], [0])
    assert np.isnan(result.strength[2]) and np.isnan(result.win_probability[2])
    assert result.reason == ("", "", bt.NEVER_COMPARED)
    assert result.strength[0] > 0 > result.strength[1]
    assert result.strength[0] == pytest.approx(-result.strength[1])


def test_a_prompt_whose_comparisons_fall_apart_is_undefined_with_the_reason():
    # Prompt 0: 0-1 and 2-3 never meet. Prompt 1: one connected pair.
    prompts = np.array([0, 0, 0, 0, 1, 1])
    result = bt.per_prompt(prompts, [0, 2, 4], [1, 3, 5], [2, 2, 2], [1, 1, 1], [0, 0, 0])
    assert np.isnan(result.strength[:4]).all()
    assert set(result.reason[:4]) == {bt.DISCONNECTED.format(k=2)}
    assert not np.isnan(result.strength[4:]).any()
    assert (result.prompts_fitted, result.prompts_undefined) == (1, 1)


def test_a_model_ranking_in_two_pieces_is_undefined_for_every_model():
    ranking = bt.model_ranking([0, 1], [0, 2], [1, 3], [2, 2], [1, 1], [0, 0], list("abcde"))
    assert ranking.reason == bt.DISCONNECTED.format(k=2)
    assert ranking.order == []
    reasons = {p.player: p.strength.reason for p in ranking.players}
    assert reasons == {
        "a": ranking.reason,
        "b": ranking.reason,
        "c": ranking.reason,
        "d": ranking.reason,
        "e": bt.NEVER_COMPARED,
    }


def test_without_a_prior_a_player_that_never_lost_has_no_finite_strength():
    ranking = bt.model_ranking(
        [0, 1, 2],
        [0, 0, 1],
        [1, 2, 2],
        [3, 2, 1],
        [0, 0, 1],
        [0, 0, 0],
        ["a", "b", "c"],
        prior=0.0,
    )
    assert ranking.reason == f"a {bt.NEVER_LOST}"
    assert all(p.strength.value is None for p in ranking.players)
    per = bt.per_prompt(
        np.zeros(3, dtype=int), [0, 0, 1], [1, 2, 2], [3, 2, 1], [0, 0, 1], [0, 0, 0], prior=0.0
    )
    assert np.isnan(per.strength).all()
    assert per.reason[0] == bt.NEVER_LOST and per.prompts_undefined == 1


def test_with_the_default_prior_a_player_that_never_lost_is_ranked_first_and_finite():
    ranking = bt.model_ranking(
        [0, 1, 2],
        [0, 0, 1],
        [1, 2, 2],
        [3, 2, 1],
        [0, 0, 1],
        [0, 0, 0],
        ["a", "b", "c"],
    )
    assert ranking.reason == "" and ranking.order[0] == "a"
    assert np.isfinite(_values(ranking, ["a", "b", "c"])).all()


def test_a_player_that_never_won_has_no_finite_strength_without_a_prior():
    per = bt.per_prompt(np.zeros(2, dtype=int), [0], [1], [0], [4], [0], prior=0.0)
    assert per.reason == (bt.NEVER_WON, bt.NEVER_LOST)


def test_games_between_two_responses_of_the_same_model_are_dropped_and_counted():
    ranking = bt.model_ranking(
        [0, 1, 2], [0, 1, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0], ["a", "b"]
    )
    assert ranking.n_same_player == 2 and ranking.n_games == 1
    only_self = bt.model_ranking([0], [1], [1], [2], [1], [0], ["a", "b"])
    assert only_self.reason == bt.NO_GAMES and only_self.order == []
    assert {p.strength.reason for p in only_self.players} == {bt.NEVER_COMPARED}


def test_all_ties_give_equal_strengths():
    result = bt.per_prompt(
        np.zeros(3, dtype=int), [0, 1], [1, 2], [0, 0], [0, 0], [3, 3], prior=0.0
    )
    np.testing.assert_allclose(result.strength, 0.0, atol=1e-9)
    np.testing.assert_allclose(result.win_probability, 0.5, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": [0], "b": [0]}, "compared with itself"),
        ({"a": [0], "b": [2]}, "two different prompts"),
        ({"a": [0], "b": [5]}, "outside 0..2"),
        ({"wins_a": [-1]}, ">= 0"),
        ({"prior": -1.0}, "prior must be >= 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    args = {"a": [0], "b": [1], "wins_a": [1], "wins_b": [0], "ties": [0]} | kwargs
    with pytest.raises(ValueError, match=message):
        bt.per_prompt(np.array([0, 0, 1]), **args)
