"""How well scores predict held-out votes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import numpy as np

from model.pairs import Pairs


class ModelKind(StrEnum):
    """Whose taste a model learns; stored and sent as its value."""

    GUILD = "guild"  # everyone's votes in a server
    PERSONAL = "personal"  # one person's votes, a head on the guild's trunk


@dataclass(frozen=True)
class PairwiseMetrics:
    """How scores agree with votes: accuracy on decided votes (a predicted tie counts
    half; None without decided votes), ties counted apart, RankNet log-loss."""

    votes: int
    decided: int
    ties: int
    accuracy: float | None
    log_loss: float | None


@dataclass(frozen=True)
class ModelMetrics:
    """What a trained model is judged by, on votes it never trained on; stored with it.

    `final` is what konomi ranks with (content scores plus per-face offsets). A personal
    model also carries the guild model's figures on the same votes, and which of the two
    it `uses` for the person.
    """

    kind: ModelKind
    train_votes: int
    held_out_votes: int
    final: PairwiseMetrics
    cnn: PairwiseMetrics
    bradley_terry: PairwiseMetrics
    uses: ModelKind | None = None  # personal models: whose head the person is ranked by
    guild_cnn: PairwiseMetrics | None = None
    guild_final: PairwiseMetrics | None = None
    timings: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMetrics:
        """Read stored metrics; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("final", "cnn", "bradley_terry", "guild_cnn", "guild_final"):
            if isinstance(values.get(name), dict):
                values[name] = PairwiseMetrics(**values[name])
        values["kind"] = ModelKind(values["kind"])
        if values.get("uses") is not None:
            values["uses"] = ModelKind(values["uses"])
        return cls(**values)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% for z = 1.96): honest for the few
    held-out votes a person's model is judged on, where the normal approximation is not."""
    if trials == 0:
        return 0.0, 1.0
    share, shrink = successes / trials, 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / shrink
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / shrink
    return max(0.0, centre - spread), min(1.0, centre + spread)


def pairwise_metrics(scores: np.ndarray, pairs: Pairs) -> PairwiseMetrics:
    """Accuracy on decided votes (a predicted tie counts half), ties counted apart, log-loss."""
    if len(pairs) == 0:
        return PairwiseMetrics(votes=0, decided=0, ties=0, accuracy=None, log_loss=None)
    d = scores[pairs.a] - scores[pairs.b]
    decided = pairs.y != 0.5
    wins = pairs.y[decided] == 1.0
    margin = d[decided]
    correct = np.where(margin == 0, 0.5, (margin > 0) == wins)
    y = pairs.y.astype(np.float64)
    loss = np.maximum(d, 0) - d * y + np.log1p(np.exp(-np.abs(d)))
    return PairwiseMetrics(
        votes=int(len(pairs)),
        decided=int(decided.sum()),
        ties=int((~decided).sum()),
        accuracy=float(correct.mean()) if decided.any() else None,
        log_loss=float(loss.mean()),
    )


def kendall_tau(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Kendall's tau-b between two orderings given as scores."""
    n = len(predicted)
    concordant = discordant = ties_p = ties_t = 0
    for i in range(n):
        dp = np.sign(predicted[i + 1 :] - predicted[i])
        dt = np.sign(truth[i + 1 :] - truth[i])
        both = (dp != 0) & (dt != 0)
        concordant += int(((dp == dt) & both).sum())
        discordant += int(((dp != dt) & both).sum())
        ties_p += int(((dp == 0) & (dt != 0)).sum())
        ties_t += int(((dt == 0) & (dp != 0)).sum())
    denominator = math.sqrt((concordant + discordant + ties_p) * (concordant + discordant + ties_t))
    return (concordant - discordant) / denominator if denominator else 0.0
