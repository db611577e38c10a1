"""Bradley-Terry strengths from pairwise judgments, beside Borda (DESIGN 5).

Model (Zermelo 1929; Bradley & Terry 1952): player i has a log-strength theta_i and

    P(i beats j) = exp(theta_i) / (exp(theta_i) + exp(theta_j)) = sigmoid(theta_i - theta_j).

With w_ij the wins of i over j, the log-likelihood is
l(theta) = sum_ij w_ij * (theta_i - log(exp(theta_i) + exp(theta_j))).

Ties count half a win each way (w_ij += t/2 and w_ji += t/2), as in Borda. This is the
likelihood of doubled data in which each tie is one win for each side (Chatbot Arena's
convention), up to a factor 2 that does not move the maximum.

Players are responses within one prompt (``per_prompt``) or generator models across the
project, every pairwise judgment between two models' responses a game (``model_ranking``,
an Arena-style ranking with bootstrap CIs over prompts).

Fit: the MM algorithm of Hunter (2004, "MM algorithms for generalized Bradley-Terry models",
Ann. Statist. 32(1), eq. 3), with gamma = exp(theta):

    gamma_i <- W_i / sum_j n_ij / (gamma_i + gamma_j)

where W_i is i's total wins and n_ij = w_ij + w_ji the games between i and j. Why MM rather
than Newton: each step provably increases the likelihood with no step size, line search or
Hessian solve, and it is a handful of array operations over the edges, so every prompt of a
project (thousands of tiny problems) or every bootstrap resample is one vectorized iteration.
Its convergence is only linear, so two measures keep it cheap: with a prior the common shift
of a component is solved exactly after each step (``_Problem.shift``), and components that
have settled leave the iteration (``_mm``; both in ``fit``). Measured on 2 shared cores: 15,000 prompts of 4
responses (90,000 pairs) in about 1.5 s; PandaLM's 5 models with 1,000 resamples in 0.2 s.
Iteration stops when no log-strength moves by more than ``TOL``.

Prior (why strengths stay finite): the maximum-likelihood strengths are finite only when, in
every split of the players into two groups, someone in each group beat someone in the other
(Hunter's Assumption 1; Ford 1957). A response that won all three of its votes breaks it,
and that is the common case within a prompt. So by default every compared player also
plays ``prior`` virtual games against a fixed reference player of log-strength 0, scored as
ties (prior/2 wins, prior/2 losses): pseudo-counts that pull each strength towards the mean
(the virtual-draw prior of Coulom's BayesElo, pinned to a reference). With
``PRIOR`` = 1 virtual game, a response that won 3-0 against its one rival gets
theta = +1.17 and the rival -1.17 (P(beats the rival) 0.91, not 1), while PandaLM's model
ranking from 2,997 votes moves by at most 0.001. ``prior=0`` gives the plain
maximum-likelihood fit; where it does not exist the result is undefined with that reason
rather than an infinite strength.

Normalization: theta is centred to mean 0 over the players fitted together (a prompt's
compared responses; the compared models), so exp(theta_i) is i's odds against a player of
average log-strength.

Degenerate cases (undefined, with a reason; never 0):
- a player with no games: "never compared";
- a comparison graph in two or more pieces never compared with each other: strengths across
  the pieces are not comparable, so none is reported for that prompt (or model ranking);
- with prior=0, a player (or group) that never lost or never won: no finite MLE.
Games of a player against itself (two responses of the same model) carry no information
about strengths and are dropped (counted in ``ModelRanking.n_same_player``).

Modules: fit (Hunter's MM, the prior, the shared checks and reasons), prompts
(``per_prompt``: responses as players), ranking (``model_ranking``: generator models as
players, bootstrap CIs over prompts).
"""

from .fit import (
    CHUNK,
    DISCONNECTED,
    GROUP_NEVER_LOST,
    MAX_ITER,
    NEVER_COMPARED,
    NEVER_LOST,
    NEVER_WON,
    NO_GAMES,
    PRIOR,
    TOL,
)
from .prompts import PromptStrengths, per_prompt
from .ranking import ModelRanking, PlayerStrength, model_ranking

__all__ = [
    "CHUNK",
    "DISCONNECTED",
    "GROUP_NEVER_LOST",
    "MAX_ITER",
    "NEVER_COMPARED",
    "NEVER_LOST",
    "NEVER_WON",
    "NO_GAMES",
    "PRIOR",
    "TOL",
    "ModelRanking",
    "PlayerStrength",
    "PromptStrengths",
    "model_ranking",
    "per_prompt",
]
