"""Shared by the quality benchmarks: votes, the bot's own training, and the results table.

Every model here trains with the bot's `config.toml` ([model] and [training]), through
the same `model.training.train` the worker runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.common import ROOT

SPLITS = {"unseen": "unseen faces (/rank uploads)", "seen": "pool faces not compared"}
# Every quality benchmark's methods; each adds its own reference before "chance".
METHODS = [
    "konomi final scorer",
    "konomi personal head",
    "konomi final scorer, fixed priors",
    "konomi final scorer, no taste space",
    "konomi, CNN alone (no descriptor)",
    "guild model",
    "per-person CNN (original)",
    "Bradley-Terry, own votes",
]


def bot_settings():
    """The bot's [model] and [training] settings, as `python -m bot` reads them."""
    from bot.config import load_settings

    settings = load_settings(ROOT / "config.toml", environ={})
    return settings.model, settings.training


def random_pairs(items: np.ndarray, count: int, rng: np.random.Generator):
    a, b = rng.choice(items, count * 2), rng.choice(items, count * 2)
    keep = np.flatnonzero(a != b)[:count]
    return a[keep], b[keep]


def test_pairs(items: np.ndarray, exclude=None, most: int = 20_000, rng=None):
    """Every pair of `items` not in `exclude` (a Pairs), or `most` of them at random."""
    a, b = np.triu_indices(len(items), 1)
    a, b = items[a], items[b]
    if exclude is not None and len(exclude):
        low = np.minimum(exclude.a, exclude.b) * 1_000_003 + np.maximum(exclude.a, exclude.b)
        keep = ~np.isin(np.minimum(a, b) * 1_000_003 + np.maximum(a, b), low)
        a, b = a[keep], b[keep]
    if len(a) > most:
        chosen = (rng or np.random.default_rng(0)).choice(len(a), most, replace=False)
        a, b = a[chosen], b[chosen]
    return a, b


def merge(pairs_list):
    """Many people's votes as one Pairs, and who cast each (their place in the list)."""
    from model.pairs import Pairs

    return Pairs.concat(*pairs_list), np.repeat(
        np.arange(len(pairs_list)), [len(p) for p in pairs_list]
    )


@dataclasses.dataclass
class Guild:
    """A trained guild model and what the benchmarks read from it."""

    result: object  # TrainingResult

    @property
    def content(self) -> np.ndarray:
        """The model's content scores of every face (its final scores less the offsets)."""
        return self.result.scores - self.result.offsets


class Konomi:
    """konomi's training on one set of faces, as the worker runs it (descriptor on or off)."""

    def __init__(
        self,
        stored_crops: np.ndarray,
        descriptors: np.ndarray,
        descriptor: bool,
        taste_dims: int | None = None,
    ):
        from model.descriptor import DESCRIPTOR_SIZE
        from model.faces import resize_square

        config, self.settings = bot_settings()
        # The bench's features: the descriptor, then the HOG blocks when it asks for them.
        expression = max(0, descriptors.shape[1] - DESCRIPTOR_SIZE) if descriptor else 0
        self.config = dataclasses.replace(
            config,
            descriptor_size=descriptors.shape[1] - expression if descriptor else 0,
            expression_size=expression,
            taste_dims=config.taste_dims if taste_dims is None else taste_dims,
        )
        # The CNN's input, downscaled from the stored crops as the bot's training does.
        self.crops = np.stack([resize_square(c, self.config.input_size) for c in stored_crops])
        self.descriptors = descriptors if descriptor else None

    def job(self, kind: str, votes, **base):
        from model.training import TrainingJob

        return TrainingJob(
            kind,
            self.crops,
            votes,
            self.config,
            self.settings,
            descriptors=self.descriptors,
            **base,
        )

    def guild(self, votes, voters: np.ndarray) -> Guild:
        from model.training import train

        return Guild(train(self.job("guild", votes, voters=voters)))

    def personal(
        self, guild: Guild, votes, adaptive: bool = True, taste_space: bool = True
    ) -> dict[str, dict[str, np.ndarray]]:
        """Scores for each split: the trained personal head (content only), konomi's
        final scorer (the chosen head, plus the person's offsets on pool faces).
        `adaptive`: off, the head and offsets get the guild's full pull whoever asks;
        `taste_space` off: everyone stands at the guild's centre of its taste space."""
        from model.training import train

        weights = guild.result.weights
        if not taste_space and "taste_space/kernel" in weights:
            weights = {**weights, "taste_space/kernel": 0 * weights["taste_space/kernel"]}
        job = self.job("personal", votes, base_weights=weights, base_offsets=guild.result.offsets)
        if not adaptive:
            job = dataclasses.replace(
                job, settings=dataclasses.replace(job.settings, adaptive_priors=False)
            )
        result = train(job)
        head = result.scores - result.offsets  # the chosen head's content scores
        return {
            "personal head": {"unseen": result.personal_scores, "seen": result.personal_scores},
            "final": {"unseen": head, "seen": result.scores},
        }

    def from_scratch(self, votes) -> np.ndarray:
        """The original work: a CNN per person from their votes alone (no descriptor);
        its content scores (the trainer's scores less the vote offsets)."""
        from model.training import TrainingJob, train

        config = dataclasses.replace(self.config, descriptor_size=0, expression_size=0)
        result = train(TrainingJob("guild", self.crops, votes, config, self.settings))
        return result.scores - result.offsets


def konomi_variants(
    stored_crops: np.ndarray, descriptors: np.ndarray, taste_dims: int | None = None
) -> dict[str, Konomi]:
    """konomi with and without the descriptor; `taste_dims`: the taste space's size
    (None: the config's)."""
    return {
        "with": Konomi(stored_crops, descriptors, True, taste_dims),
        "without": Konomi(stored_crops, descriptors, False, taste_dims),
    }


def train_guilds(variants: dict[str, Konomi], voted, began: float) -> dict[str, Guild]:
    """The guild model with and without the descriptor, on the same votes (`voted`:
    the votes and who cast each, as `merge` gives them)."""
    votes, voters = voted
    guilds = {name: konomi.guild(votes, voters) for name, konomi in variants.items()}
    print(
        f"guild models on {len(votes)} votes, held-out accuracy "
        f"{guilds['with'].result.metrics.final.accuracy:.3f} with the descriptor, "
        f"{guilds['without'].result.metrics.final.accuracy:.3f} without "
        f"({time.time() - began:.0f} s)",
        flush=True,
    )
    return guilds


def person_scores(
    variants: dict[str, Konomi], guilds: dict[str, Guild], votes, original: bool
) -> dict[str, dict[str, np.ndarray | None]]:
    """Each of METHODS' scores for one person's votes, per split (None: not run).
    New faces have no votes: on them only content scores apply."""
    from model.bradley_terry import fit_offsets

    count = len(variants["with"].crops)
    konomi = variants["with"].personal(guilds["with"], votes)
    fixed = variants["with"].personal(guilds["with"], votes, adaptive=False)
    centred = variants["with"].personal(guilds["with"], votes, taste_space=False)
    alone = variants["without"].personal(guilds["without"], votes)
    scratch = variants["without"].from_scratch(votes) if original else None
    voted = np.isin(np.arange(count), votes.items())
    guild = guilds["with"]
    return {
        "konomi final scorer": konomi["final"],
        "konomi personal head": konomi["personal head"],
        "konomi final scorer, fixed priors": fixed["final"],
        "konomi final scorer, no taste space": centred["final"],
        "konomi, CNN alone (no descriptor)": alone["final"],
        "guild model": {"unseen": guild.content, "seen": guild.content + guild.result.offsets},
        "per-person CNN (original)": {"unseen": scratch, "seen": scratch},
        "Bradley-Terry, own votes": {
            "unseen": np.zeros(count),
            "seen": np.where(voted, fit_offsets(votes, count), 0.0),
        },
        "chance": {"unseen": np.zeros(count), "seen": np.zeros(count)},
    }


class Results:
    """Accuracies per method, vote count, split and person; a markdown table and a plot."""

    def __init__(self, methods: list[str], votes: list[int]):
        self.methods, self.votes = methods, votes
        self.values = defaultdict(list)  # (method, n, split, person) -> accuracies (folds)

    def add(self, method: str, n: int, scores: dict[str, np.ndarray], tests: dict, person):
        from model.metrics import pairwise_metrics

        if scores["unseen"] is None:
            return  # not run for this person
        for split, pairs in tests.items():
            accuracy = pairwise_metrics(scores[split], pairs).accuracy
            self.values[(method, n, split, person)].append(accuracy)

    def mean(self, method: str, n: int, split: str, people=None) -> tuple[float, float | None]:
        """The mean over people and its standard error (None for one person)."""
        per_person = np.array(
            [
                np.mean(v)
                for (m, k, s, person), v in self.values.items()
                if (m, k, s) == (method, n, split) and (people is None or person in people)
            ]
        )
        if len(per_person) < 2:
            return float(per_person.mean()), None
        return float(per_person.mean()), float(per_person.std(ddof=1) / np.sqrt(len(per_person)))

    def paired(self, first: str, second: str, split: str, people=None) -> list[str]:
        """`first` minus `second`, person by person on the same votes: one markdown row
        per vote count with the mean difference, its standard error, and how many
        people `first` did at least as well for."""
        lines = [f"| votes | {first} - {second} | people with >= 0 |", "|---|---|---|"]
        for n in self.votes:
            keys = {
                person
                for (m, k, s, person) in self.values
                if (m, k, s) == (first, n, split) and (people is None or person in people)
            }
            gaps = np.array(
                [
                    np.mean(self.values[(first, n, split, p)])
                    - np.mean(self.values[(second, n, split, p)])
                    for p in sorted(keys)
                    if (second, n, split, p) in self.values
                ]
            )
            if len(gaps) == 0:
                continue
            error = gaps.std(ddof=1) / np.sqrt(len(gaps)) if len(gaps) > 1 else float("nan")
            lines.append(
                f"| {n} | {gaps.mean():+.3f} ± {error:.3f} | {(gaps >= 0).sum()} of {len(gaps)} |"
            )
        return lines

    def table(self, people=None, splits=tuple(SPLITS)) -> list[str]:
        header = " | ".join(f"{s} @ {n}" for n in self.votes for s in splits)
        lines = [f"| method | {header} |", "|---|" + "---|" * (len(splits) * len(self.votes))]
        for method in self.methods:
            cells = []
            for n in self.votes:
                for split in splits:
                    mean, error = self.mean(method, n, split, people)
                    cells.append(
                        f"{mean:.3f}" + (" (1 person)" if error is None else f" ± {error:.3f}")
                    )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        return lines

    def plot(self, path: Path, title: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
        for axis, (split, label) in zip(axes, SPLITS.items(), strict=True):
            for method in self.methods:
                means = [self.mean(method, n, split)[0] for n in self.votes]
                axis.plot(self.votes, means, marker="o", label=method)
            axis.set_xscale("log")
            axis.set_xticks(self.votes, [str(n) for n in self.votes])
            axis.set_title(label)
            axis.set_xlabel("votes by the person")
            axis.grid(alpha=0.3)
        axes[0].set_ylabel("pairwise accuracy")
        axes[1].legend(fontsize=8)
        figure.suptitle(title)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
