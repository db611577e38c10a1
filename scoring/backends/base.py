"""The one small interface every scoring backend implements (DESIGN 6.1, 6.2).

Nothing here imports Django or a heavy library: the web app imports this module, the
backends that need torch import it inside their own module, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ScorerSpec:
    """What a backend needs to know about a scorer: a plain copy of the Scorer row."""

    name: str
    backend: str
    metric: str = ""
    model_path: str = ""
    revision: str = ""
    dtype: str = "auto"
    max_length: int = 4096
    batch_tokens: int = 16384
    template: str = ""
    system_prompt: str = ""
    bos: str = "auto"


@dataclass(frozen=True)
class Item:
    """One (prompt, response) pair to score."""

    prompt: str
    response: str


@dataclass(frozen=True)
class Scored:
    """A raw score (a logit for reward models, never a sigmoid), the tokens the model read
    (0 for metrics without a tokenizer), and whether the input was cut to fit."""

    score: float
    tokens: int = 0
    truncated: bool = False


class Backend(Protocol):
    """Loaded once per worker process per (scorer, revision); ``score`` keeps input order.
    ``device``, ``dtype`` and ``versions`` (library versions) are recorded on the run."""

    device: str
    dtype: str
    versions: dict[str, str]

    def score(self, items: Sequence[Item]) -> list[Scored]: ...


class BackendError(Exception):
    """A scorer cannot be loaded or used as registered; the message says what to do."""
