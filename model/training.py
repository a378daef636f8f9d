"""Training jobs, pure: crops, vote pairs and settings in; weights, offsets and metrics out.

No database and no Discord here: the bot's service assembles a job from storage
and stores the result. Each step scores every unique image of its batch once and
takes the RankNet loss over the vote pairs among them (not a Siamese network
that runs the CNN twice per pair).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import keras
import numpy as np

from model.augment import augment
from model.bradley_terry import fit_offsets
from model.linear_taste import LinearTaste, correction
from model.losses import RankNetLoss, StackedRankNetLoss
from model.metrics import ModelKind, ModelMetrics, PairwiseMetrics, pairwise_metrics
from model.pairs import Pairs, plan_batches, traced_size
from model.scorer import (
    ScorerConfig,
    build_scorer,
    get_weights,
    scorer_inputs,
    set_weights,
)
from model.settings import TrainSettings
from model.stacked import build_stacked_head, person, stack
from model.taste_space import fit_directions, locate

Progress = Callable[[int, int, float | None], None]
# Held-out votes below which the head and a person's linear taste are not judged
# against each other (2 at 10 votes, 6 at 30).
JUDGED_FROM = 5


@dataclass(frozen=True)
class TrainingJob:
    """crops: (N, S, S, 3) uint8; pairs index into them; descriptors: (N, D) float32
    (zeros for a face without one; None: no face has one). A personal job carries the
    guild model's weights and per-face offsets as its starting point. A guild job's
    `voters` (one member number per vote) let it learn the guild's taste space."""

    kind: ModelKind
    crops: np.ndarray
    pairs: Pairs
    scorer: ScorerConfig
    settings: TrainSettings
    base_weights: dict[str, np.ndarray] | None = None
    base_offsets: np.ndarray | None = None
    descriptors: np.ndarray | None = None
    voters: np.ndarray | None = None


@dataclass
class TrainingResult:
    weights: dict[str, np.ndarray]  # the whole scorer (guild) or only its head (personal)
    offsets: np.ndarray  # (N,) per-face vote offsets
    scores: np.ndarray  # (N,) final scores of the job's crops (content score + offset)
    metrics: ModelMetrics  # timings included
    # A personal job's trained head and its content scores, kept even where the guild's
    # head was chosen, so the two can be compared (None for a guild job).
    personal_head: dict[str, np.ndarray] | None = None
    personal_scores: np.ndarray | None = None
    # (N, taste_dims) each crop's place in the guild's taste space (None: no space):
    # with the scores, what choosing informative pairs needs (model/pair_choice.py).
    coordinates: np.ndarray | None = None


def predict(
    model: keras.Model, items: np.ndarray | list[np.ndarray], batch_size: int = 256
) -> np.ndarray:
    """Scores (or outputs) of a model for many items (one array, or one per input), as
    a flat float64 array when 1-wide."""
    inputs = items if isinstance(items, list) else [items]
    outputs = []
    for start in range(0, len(inputs[0]), batch_size):
        batch = [x[start : start + batch_size].astype(np.float32) for x in inputs]
        outputs.append(np.asarray(model.predict_on_batch(batch if len(batch) > 1 else batch[0])))
    result = np.concatenate(outputs).astype(np.float64)
    return result[:, 0] if result.shape[1] == 1 else result


def _predict_faces(
    model: keras.Model, items: np.ndarray | list[np.ndarray], faces: np.ndarray
) -> np.ndarray:
    """Scores of only `faces` (zeros elsewhere): an epoch's early-stopping check needs
    the faces its votes touch, not the whole pool (a person's 20 held-out votes touch
    ~40 of 800). Padded to a power of two so the predict step is traced a few times."""
    inputs = items if isinstance(items, list) else [items]
    padded = np.resize(faces, traced_size(len(faces)))
    scores = np.zeros(len(inputs[0]))
    scores[padded] = predict(model, [x[padded] for x in inputs])
    return scores


@dataclass(frozen=True)
class FitStats:
    """How a fit went: stored among the model's timings."""

    epochs: int
    train_pairs_per_s: float | None
    train_seconds: float  # a person's share when several trained together
    trained_together: int = 1

    @classmethod
    def of(cls, epochs: int, pairs_seen: int, step_seconds: float, people: int = 1) -> FitStats:
        return cls(
            int(epochs),
            pairs_seen / step_seconds if step_seconds else None,
            step_seconds / people,
            people,
        )


def _fit_ranknet(
    model: keras.Model,
    items: np.ndarray | list[np.ndarray],
    train: Pairs,
    held_out: Pairs,
    settings: TrainSettings,
    rng: np.random.Generator,
    make_batch: Callable[[np.ndarray, np.random.Generator], np.ndarray | list[np.ndarray]],
    progress: Progress | None,
) -> FitStats:
    """Epochs of RankNet steps with early stopping on the held-out votes' log-loss."""
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=RankNetLoss())
    watched = held_out if len(held_out) else train
    best_weights, best_loss, stale, epochs = None, np.inf, 0, 0
    pairs_seen, step_seconds = 0, 0.0
    for epoch in range(settings.max_epochs):
        epochs = epoch + 1
        plan = plan_batches(
            train,
            len(items[0] if isinstance(items, list) else items),
            settings.batch_images,
            rng,
            batch_pairs=settings.batch_pairs,
            min_batches=settings.min_steps_per_epoch,
        )
        for batch in plan:
            x = make_batch(batch.items, rng)
            if isinstance(x, list) and len(x) == 1:
                x = x[0]  # a one-input model takes its array, not a list of one
            started = time.perf_counter()
            model.train_on_batch(x, batch.targets)
            step_seconds += time.perf_counter() - started
            pairs_seen += batch.pair_count
        loss = pairwise_metrics(_predict_faces(model, items, watched.items()), watched).log_loss
        if progress:
            progress(epochs, settings.max_epochs, loss)
        if loss < best_loss - 1e-4:
            best_weights, best_loss, stale = get_weights(model), loss, 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    if best_weights is not None:
        set_weights(model, best_weights)
    return FitStats.of(epochs, pairs_seen, step_seconds)


def _bt_baseline(
    train: Pairs, held_out: Pairs, count: int, settings: TrainSettings
) -> PairwiseMetrics:
    """Bradley-Terry on the same training votes alone: knows seen faces, ties on unseen."""
    return pairwise_metrics(fit_offsets(train, count, strength=settings.offset_prior), held_out)


def train_guild(job: TrainingJob, progress: Progress | None = None) -> TrainingResult:
    started = time.perf_counter()
    settings = job.settings
    keras.utils.set_random_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    train, held_out = job.pairs.split(settings.validation_fraction, rng)
    inputs = scorer_inputs(job.scorer, job.crops, job.descriptors)
    crops = inputs[0]
    model = build_scorer(job.scorer)
    if job.base_weights:
        set_weights(model, job.base_weights)

    def make_batch(items: np.ndarray, batch_rng: np.random.Generator) -> list[np.ndarray]:
        augmented = augment(crops[items], settings.augment, batch_rng)
        return [augmented, *(x[items] for x in inputs[1:])]

    fit = asdict(_fit_ranknet(model, inputs, train, held_out, settings, rng, make_batch, progress))
    scores = predict(model, inputs)
    offsets = fit_offsets(train, len(crops), base=scores, strength=settings.offset_prior)
    final = pairwise_metrics(scores + offsets, held_out)
    # The stored offsets learn from every vote; the metrics above never saw the held-out ones.
    offsets = fit_offsets(job.pairs, len(crops), base=scores, strength=settings.offset_prior)
    coordinates = None
    if job.scorer.taste_dims and job.voters is not None:
        taste_started = time.perf_counter()
        features = _head_features(model, job, mirrored=False)[0]
        directions = fit_directions(
            features,
            scores + offsets,
            job.pairs,
            job.voters,
            job.scorer.taste_dims,
            min_votes=settings.taste_min_votes,
            seed=settings.seed,
        )
        set_weights(model, {"taste_space/kernel": directions})
        coordinates = features @ directions
        fit["taste_space_seconds"] = time.perf_counter() - taste_started
    metrics = ModelMetrics(
        kind=ModelKind.GUILD,
        train_votes=len(train),
        held_out_votes=len(held_out),
        final=final,
        cnn=pairwise_metrics(scores, held_out),
        bradley_terry=_bt_baseline(train, held_out, len(crops), settings),
        timings={**fit, "total_seconds": time.perf_counter() - started},
    )
    return TrainingResult(
        get_weights(model), offsets, scores + offsets, metrics, coordinates=coordinates
    )


def _same_start(first: TrainingJob, other: TrainingJob) -> bool:
    """Jobs that can share one pass: the same pool, guild model and settings."""

    def same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
        return x is y or (x is not None and y is not None and np.array_equal(x, y))

    return (
        other.kind == ModelKind.PERSONAL
        and other.scorer == first.scorer
        and other.settings == first.settings
        and same(other.crops, first.crops)
        and same(other.descriptors, first.descriptors)
        and (other.base_weights or {}).keys() == (first.base_weights or {}).keys()
        and all(same(other.base_weights[k], v) for k, v in (first.base_weights or {}).items())
    )


def _head_features(scorer: keras.Model, job: TrainingJob, mirrored: bool = True) -> np.ndarray:
    """What the scorer's head reads for every face of the job, in two views (as is and
    mirrored: the head's augmentation), (2, N, features); only the first when not
    `mirrored`. The trunk is frozen for personal heads, so this is computed once for
    everyone trained on this pool and guild model."""
    trunk = scorer.get_layer("trunk")
    crops, *descriptor = scorer_inputs(job.scorer, job.crops, job.descriptors)
    count = len(crops)
    return np.stack(
        [
            np.concatenate([predict(trunk, c).reshape(count, -1), *descriptor], axis=1)
            for c in ((crops, crops[:, :, ::-1]) if mirrored else (crops,))
        ]
    ).astype(np.float32)


def _predict_people(model: keras.Model, features: np.ndarray, people: int) -> np.ndarray:
    """(P, N) scores of every person's head on the same (N, F) features, in fixed-size
    chunks (one traced shape)."""
    count = len(features)
    chunk = min(traced_size(count), 256)
    scores = np.zeros((people, count))
    for start in range(0, count, chunk):
        part = np.zeros((chunk, features.shape[1]), np.float32)
        rows = features[start : start + chunk]
        part[: len(rows)] = rows
        x = np.ascontiguousarray(np.broadcast_to(part, (people, *part.shape)))
        out = np.asarray(model.predict_on_batch(x))[:, : len(rows), 0]
        scores[:, start : start + len(rows)] = out
    return scores


def _stacked_step(
    batches: list, flips: list, views: np.ndarray, people: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """One step's inputs for everyone: (P, B, F) features and (P, K, 4) pairs [row,
    column, target, weight] (the nonzero cells of each person's batch targets; a
    person without a batch this step gets zeros: no loss). B and K are padded to
    powers of two, so the step is traced for a few shapes."""
    width = traced_size(max(len(b.items) for b in batches if b is not None))
    cells = [np.nonzero(b.targets[..., 1]) if b is not None else None for b in batches]
    pairs = traced_size(max(len(c[0]) for c in cells if c is not None))
    x = np.zeros((people, width, views.shape[2]), np.float32)
    y = np.zeros((people, pairs, 4), np.float32)
    seen = 0
    for p, (batch, flip, cell) in enumerate(zip(batches, flips, cells, strict=True)):
        if batch is None:
            continue
        x[p, : len(batch.items)] = views[flip, batch.items]
        rows, columns = cell
        y[p, : len(rows)] = np.stack(
            [rows, columns, batch.targets[rows, columns, 0], batch.targets[rows, columns, 1]],
            axis=1,
        )
        seen += batch.pair_count
    return x, y, seen


def _fit_people(
    model: keras.Model,
    views: np.ndarray,
    splits: list[tuple[Pairs, Pairs]],
    rngs: list[np.random.Generator],
    settings: TrainSettings,
    progress: Progress | None,
) -> list[FitStats]:
    """`_fit_ranknet` for P people at once: each person's batches drawn from their own
    random stream as if trained alone, one optimizer step for all (Adam is elementwise
    and each person's loss touches only their row, so a person's updates are theirs
    alone), early stopping per person on their held-out votes."""
    people, count = len(splits), views.shape[1]
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate), loss=StackedRankNetLoss()
    )
    watched = [held if len(held) else train for train, held in splits]
    best: list[dict | None] = [None] * people
    best_loss = np.full(people, np.inf)
    stale = np.zeros(people, int)
    epochs = np.zeros(people, int)
    active = np.ones(people, bool)
    pairs_seen, step_seconds = 0, 0.0
    for epoch in range(settings.max_epochs):
        plans, flips = [], []
        for p, ((train, _), rng) in enumerate(zip(splits, rngs, strict=True)):
            plan = []
            if active[p]:
                epochs[p] = epoch + 1
                plan = plan_batches(
                    train,
                    count,
                    settings.batch_images,
                    rng,
                    batch_pairs=settings.batch_pairs,
                    min_batches=settings.min_steps_per_epoch,
                )
            plans.append(plan)
            flips.append([rng.integers(0, 2, size=len(b.items)) for b in plan])
        for step in range(max(len(plan) for plan in plans)):
            batches = [plan[step] if step < len(plan) else None for plan in plans]
            step_flips = [f[step] if step < len(f) else None for f in flips]
            x, y, seen = _stacked_step(batches, step_flips, views, people)
            started = time.perf_counter()
            model.train_on_batch(x, y)
            step_seconds += time.perf_counter() - started
            pairs_seen += seen
        scores = _predict_people(model, views[0], people)
        weights = get_weights(model)
        for p in np.flatnonzero(active):
            loss = pairwise_metrics(scores[p], watched[p]).log_loss
            if loss < best_loss[p] - 1e-4:
                best[p], best_loss[p], stale[p] = person(weights, p), loss, 0
            else:
                stale[p] += 1
                active[p] = stale[p] < settings.patience
        if progress:
            progress(epoch + 1, settings.max_epochs, float(np.mean(best_loss)))
        if not active.any():
            break
    weights = get_weights(model)
    set_weights(model, stack([b or person(weights, p) for p, b in enumerate(best)]))
    return [FitStats.of(e, pairs_seen, step_seconds, people) for e in epochs]


def train_personal(job: TrainingJob, progress: Progress | None = None) -> TrainingResult:
    """One person's model: `train_personal_batch` of one."""
    return train_personal_batch([job], progress)[0]


def train_personal_batch(
    jobs: list[TrainingJob], progress: Progress | None = None
) -> list[TrainingResult]:
    """Personal heads on the guild's trunk, trained together for people who share a
    pool and a guild model (one pass, one compiled step, the trunk's features computed
    once). Each person is first located in the guild's taste space (model/taste_space.py);
    their head, and their per-face offsets, are then pulled towards the guild's as far as
    that centre (the guild's score plus their position) predicts the person
    (`guild_agreement`; fully when `adaptive_priors` is off).

    A person's head is used unless the guild head predicts their held-out votes clearly
    better (both with their offsets; a sign test, `_clearly_better`): 2 votes at 10, 6
    at 30, 20 at 100, so a vote or two is no evidence, and the person's head is already
    pulled towards the guild's as far as the guild predicts them.
    """
    if not jobs:
        return []
    first = jobs[0]
    if first.base_weights is None:
        raise ValueError("a personal model starts from the guild model's weights")
    if not all(_same_start(first, job) for job in jobs):
        raise ValueError("people trained together share one pool, guild model and settings")
    started = time.perf_counter()
    settings = first.settings
    keras.utils.set_random_seed(settings.seed)
    rngs = [np.random.default_rng(settings.seed) for _ in jobs]
    splits = [
        job.pairs.split(settings.validation_fraction, rng)
        for job, rng in zip(jobs, rngs, strict=True)
    ]
    guild = build_scorer(first.scorer)
    set_weights(guild, first.base_weights)
    views = _head_features(guild, first)
    guild_head = get_weights(guild, only_head=True)
    guild_scores = predict(guild.get_layer("head"), views[0])
    # Each person's place in the guild's taste space, located from their training votes;
    # their centre (the guild's score plus their position) is what the head is pulled
    # towards, as far as that centre predicts them.
    coordinates = views[0] @ guild_head.get("taste_space/kernel", np.zeros((views.shape[2], 0)))
    positions, agreements = [], []
    for job, (train, _) in zip(jobs, splits, strict=True):
        base = guild_scores + _offsets_of(job)
        position = locate(coordinates, base, train, settings.taste_position_prior)
        positions.append(position)
        agreements.append(
            guild_agreement(base + coordinates @ position, train)
            if settings.adaptive_priors
            else 1.0
        )
    agreements = np.array(agreements)
    pull = settings.personal_pull * agreements
    model = build_stacked_head(first.scorer, len(jobs), guild_head, pull)
    starts = [dict(guild_head) for _ in jobs]
    for start, position in zip(starts, positions, strict=True):
        if "taste/kernel" in start:
            start["taste/kernel"] = position.astype(np.float32)[:, None]
    set_weights(model, stack(starts))
    fits = _fit_people(model, views, splits, rngs, settings, progress)
    all_scores = _predict_people(model, views[0], len(jobs))
    trained = get_weights(model)
    total = (time.perf_counter() - started) / len(jobs)
    return [
        _personal_result(
            job,
            split,
            all_scores[p],
            guild_scores,
            person(trained, p),
            guild_head,
            views[0],
            coordinates,
            {
                **asdict(fits[p]),
                "total_seconds": total,
                "guild_agreement": float(agreements[p]),
                "taste_distance": float(np.linalg.norm(positions[p])),
            },
        )
        for p, (job, split) in enumerate(zip(jobs, splits, strict=True))
    ]


def _clearly_better(first: np.ndarray, second: np.ndarray, votes: Pairs) -> bool:
    """Whether scores `first` predict these votes clearly better than `second`: of the
    decided votes only one of them gets right, `first` gets at least two more, and two
    standard deviations more than coin flips would (a sign test). On 20 held-out votes
    the two differ on a handful: a vote or two either way is noise."""
    decided = votes.y != 0.5
    a, b, wins = votes.a[decided], votes.b[decided], votes.y[decided] > 0.5
    first_right = (first[a] > first[b]) == wins
    second_right = (second[a] > second[b]) == wins
    only_first = int(np.sum(first_right & ~second_right))
    only_second = int(np.sum(second_right & ~first_right))
    return only_first - only_second >= max(2.0, 2.0 * np.sqrt(only_first + only_second))


def _offsets_of(job: TrainingJob) -> np.ndarray:
    return np.zeros(len(job.crops)) if job.base_offsets is None else job.base_offsets


def guild_agreement(guild_scores: np.ndarray, train: Pairs) -> float:
    """How far these scores (the guild's, from where the person stands in its taste
    space) predict this person, from 0 (at chance or worse) to 1 (every vote): 2 x its
    accuracy on the person's training votes - 1, the accuracy shrunk towards 75% by two
    pseudo-votes, so ten votes do not swing it to the ends.
    A person's head is pulled towards the guild's, and their per-face offsets towards
    the guild's, only this far: a person who disagrees is not dragged back to the guild.
    Training votes, not held-out ones: those judge the result."""
    metrics = pairwise_metrics(guild_scores, train)
    correct = (metrics.accuracy or 0.0) * metrics.decided
    accuracy = (correct + 1.5) / (metrics.decided + 2)
    return float(np.clip(2 * accuracy - 1, 0.0, 1.0))


def _personal_result(
    job: TrainingJob,
    split: tuple[Pairs, Pairs],
    personal_scores: np.ndarray,
    guild_scores: np.ndarray,
    trained_head: dict[str, np.ndarray],
    guild_head: dict[str, np.ndarray],
    features: np.ndarray,
    coordinates: np.ndarray,
    timings: dict,
) -> TrainingResult:
    """What a person is served, their offsets and metrics. Of the head they trained and
    the guild's, theirs unless the guild's predicts their held-out votes clearly better;
    then, unless that head predicts them clearly better, their linear taste
    (model/linear_taste.py): the guild's score, their place in the guild's taste space
    and a linear term on the face features, each as far as cross-validation on their
    votes finds that it pays, the place refitted in every fold (the place their head
    trained from was located on all their training votes: judged on those, it looked
    better than it was). A taste the guild's head cannot express still gets what a
    linear model of their votes gets. With fewer than `JUDGED_FROM` held-out votes (ten
    votes in all), the head alone. Choices and held-out figures rest on the training
    votes; what is served is fitted on all of them."""
    train, held_out = split
    settings = job.settings
    count = len(job.crops)
    prior = timings["guild_agreement"] * _offsets_of(job)

    def with_offsets(scores: np.ndarray, pairs: Pairs) -> np.ndarray:
        return scores + fit_offsets(
            pairs, count, base=scores, prior=prior, strength=settings.personal_offset_prior
        )

    # The linear taste reads the frozen face features (descriptor, expression), as the
    # plain reference does, not the CNN's embedding: learned for the guild's taste, the
    # guild's score carries what it knows. The CNN alone has nothing else to read.
    start = features.shape[1] - job.scorer.features_size if job.scorer.features_size else 0

    def linear_taste(votes: Pairs) -> tuple[LinearTaste, np.ndarray]:
        rng = np.random.default_rng(settings.seed)  # the same votes, the same taste
        taste = correction(features[:, start:], guild_scores, votes, rng, coordinates)
        taste = replace(taste, weights=np.concatenate([np.zeros(start), taste.weights]))
        return taste, taste.scores(guild_scores, coordinates, features)

    personal_final_scores = with_offsets(personal_scores, train)
    guild_final_scores = with_offsets(guild_scores, train)
    guild_final = pairwise_metrics(guild_final_scores, held_out)
    use_personal = not _clearly_better(guild_final_scores, personal_final_scores, held_out)
    head_final_scores = personal_final_scores if use_personal else guild_final_scores
    # Two held-out votes (of ten) judge nothing, and the linear taste's own choice would
    # rest on cross-validation over eight: then the head, which starts from the guild's
    # and the person's place (London's real raters at 10 votes: 0.720 on unseen faces,
    # the linear taste 0.666; bench/README.md).
    judged = len(held_out) >= JUDGED_FROM
    linear_final_scores = with_offsets(linear_taste(train)[1], train) if judged else None
    use_linear = judged and not _clearly_better(head_final_scores, linear_final_scores, held_out)
    final = pairwise_metrics(linear_final_scores if use_linear else head_final_scores, held_out)
    if use_linear:
        taste, served = linear_taste(job.pairs)
        weights = _with_linear_taste(guild_head, taste)
    else:
        served = personal_scores if use_personal else guild_scores
        weights = trained_head if use_personal else guild_head
    offsets = with_offsets(served, job.pairs) - served
    metrics = ModelMetrics(
        kind=ModelKind.PERSONAL,
        train_votes=len(train),
        held_out_votes=len(held_out),
        uses=ModelKind.PERSONAL if use_personal or use_linear else ModelKind.GUILD,
        final=final,
        cnn=pairwise_metrics(personal_scores, held_out),
        guild_cnn=pairwise_metrics(guild_scores, held_out),
        guild_final=guild_final,
        bradley_terry=_bt_baseline(train, held_out, count, settings),
        timings=timings,
    )
    return TrainingResult(
        weights,
        offsets,
        served + offsets,
        metrics,
        trained_head,
        personal_scores,
        coordinates if coordinates.shape[1] else None,
    )


def _with_linear_taste(head: dict[str, np.ndarray], taste: LinearTaste) -> dict[str, np.ndarray]:
    """The guild's head serving a person's linear taste: its score's weights scaled, the
    person's place in the taste space and the linear term set."""
    weights = dict(head)
    for name in ("score/kernel", "score/bias"):
        if name in weights:
            weights[name] = (weights[name] * taste.scale).astype(np.float32)
    if "taste/kernel" in weights:
        weights["taste/kernel"] = taste.position.astype(np.float32)[:, None]
    weights["personal_linear/kernel"] = taste.weights.astype(np.float32)[:, None]
    return weights


def train(job: TrainingJob, progress: Progress | None = None) -> TrainingResult:
    if job.kind == ModelKind.GUILD:
        return train_guild(job, progress)
    if job.kind == ModelKind.PERSONAL:
        return train_personal(job, progress)
    raise ValueError(f"unknown job kind: {job.kind!r}")
