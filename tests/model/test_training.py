import numpy as np
import pytest

from model.loading import load_scorer
from model.metrics import pairwise_metrics
from model.pairs import Pairs
from model.scorer import ScorerConfig, build_scorer, scorer_inputs, set_weights
from model.settings import DetectorSettings
from model.store import pack
from model.training import TrainingJob, TrainSettings, predict, train

FAST = TrainSettings(max_epochs=20, patience=4)


def planted_votes(taste: np.ndarray, items: np.ndarray, count: int, seed: int) -> Pairs:
    """A voter who always picks the face with more `taste` among `items`."""
    rng = np.random.default_rng(seed)
    a, b = rng.choice(items, count), rng.choice(items, count)
    keep = a != b
    a, b = a[keep], b[keep]
    return Pairs.of(a, b, (taste[a] > taste[b]).astype(float))


def personal_job(crops, votes, guild, config=None) -> TrainingJob:
    """A person's job on the guild model `guild` (a TrainingResult)."""
    return TrainingJob(
        "personal",
        crops,
        votes,
        config or ScorerConfig(),
        FAST,
        base_weights=guild.weights,
        base_offsets=guild.offsets,
    )


@pytest.fixture(scope="module")
def split(lfw_crops):
    count = len(lfw_crops)
    order = np.random.default_rng(0).permutation(count)
    return order[: int(count * 0.7)], order[int(count * 0.7) :]


@pytest.fixture(scope="module")
def guild_result(lfw_crops, split):
    seen, _ = split
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    job = TrainingJob(
        "guild", lfw_crops, planted_votes(brightness, seen, 700, 1), ScorerConfig(), FAST
    )
    return train(job)


def test_learns_a_planted_preference_that_holds_on_faces_it_never_saw(
    lfw_crops, split, guild_result
):
    _, unseen = split
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    model = build_scorer(ScorerConfig())
    set_weights(model, guild_result.weights)
    scores = predict(model, scorer_inputs(ScorerConfig(), lfw_crops, None))
    test = planted_votes(brightness, unseen, 2000, 2)
    assert pairwise_metrics(scores, test).accuracy >= 0.85
    metrics = guild_result.metrics
    assert metrics.held_out_votes > 0 and metrics.cnn.accuracy >= 0.8
    assert guild_result.metrics.timings["train_pairs_per_s"] > 0


def test_same_seed_same_model(lfw_crops, split, guild_result):
    seen, _ = split
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    again = train(
        TrainingJob(
            "guild", lfw_crops, planted_votes(brightness, seen, 700, 1), ScorerConfig(), FAST
        )
    )
    for name, value in guild_result.weights.items():
        np.testing.assert_allclose(again.weights[name], value, rtol=1e-4, atol=1e-5)


def test_a_personal_model_beats_the_guild_model_for_a_contrary_taste(
    lfw_crops, split, guild_result
):
    seen, _ = split
    # The crowd likes bright faces; this person likes faces with a bright left half
    # and a dark right half, which the crowd's taste barely predicts.
    left = lfw_crops[:, :, :40].mean(axis=(1, 2, 3))
    right = lfw_crops[:, :, 40:].mean(axis=(1, 2, 3))
    taste = left - right
    votes = planted_votes(taste, np.arange(len(lfw_crops)), 300, 3)
    job = personal_job(lfw_crops, votes, guild_result)
    result = train(job)
    metrics = result.metrics
    assert metrics.uses == "personal"
    assert metrics.final.accuracy > metrics.guild_final.accuracy
    assert set(result.weights) == {
        "head_dense/kernel",
        "head_dense/bias",
        "score/kernel",
        "score/bias",
        "taste_space/kernel",
        "taste/kernel",
        "personal_linear/kernel",
    }
    # The trained head is kept in the result as well (also where the guild's is chosen).
    assert set(result.personal_head) == set(result.weights)
    # What is stored (the head, its linear correction set) scores as the result says.
    model = build_scorer(job.scorer)
    set_weights(model, job.base_weights)
    set_weights(model, result.weights)
    served = predict(model, scorer_inputs(job.scorer, lfw_crops, None))
    np.testing.assert_allclose(served, result.scores - result.offsets, atol=1e-4)


def test_save_and_load_give_identical_scores(lfw_crops, guild_result):
    face_ids = np.arange(100, 100 + len(lfw_crops))
    data = pack(guild_result.weights, face_ids, guild_result.offsets)
    loaded = load_scorer("konomi-cnn-v1", ScorerConfig().to_json(), data)
    model = build_scorer(ScorerConfig())
    set_weights(model, guild_result.weights)
    np.testing.assert_array_equal(
        loaded.score_crops(lfw_crops),
        predict(model, scorer_inputs(ScorerConfig(), lfw_crops, None)),
    )
    pool_scores = loaded.score_pool(list(face_ids), lfw_crops)
    np.testing.assert_allclose(
        pool_scores - loaded.score_crops(lfw_crops), guild_result.offsets, atol=1e-5
    )


@pytest.fixture(scope="module")
def descriptors(lfw_crops):
    from model.descriptor import describe

    return np.stack([describe(crop, DetectorSettings().margin) for crop in lfw_crops])


def test_the_descriptor_carries_a_taste_the_cnn_alone_cannot_see(lfw_crops, split, descriptors):
    """A taste planted along a direction of the face descriptor: with the descriptor
    the scorer ranks faces it never saw by it; the CNN alone barely can."""
    seen, unseen = split
    direction = np.random.default_rng(5).normal(size=descriptors.shape[1])
    taste = descriptors @ direction
    votes = planted_votes(taste, seen, 700, 4)
    test = planted_votes(taste, unseen, 2000, 5)
    accuracy = {}
    cases = (
        ("with", ScorerConfig(expression_size=0)),
        ("without", ScorerConfig(descriptor_size=0, expression_size=0)),
    )
    for name, config in cases:
        job = TrainingJob("guild", lfw_crops, votes, config, FAST, descriptors=descriptors)
        result = train(job)
        model = build_scorer(config)
        set_weights(model, result.weights)
        scores = predict(model, scorer_inputs(config, lfw_crops, descriptors))
        accuracy[name] = pairwise_metrics(scores, test).accuracy
    print(
        f"unseen faces: {accuracy['with']:.3f} with the descriptor, "
        f"{accuracy['without']:.3f} without"
    )
    assert accuracy["with"] >= 0.75 and accuracy["with"] > accuracy["without"] + 0.15


def test_people_trained_together_get_the_models_they_would_get_alone(lfw_crops, guild_result):
    """Without dropout's random masks, a batch of people trains each exactly as alone:
    nobody's votes leak into another's head, whatever their number of votes."""
    from model.training import train_personal_batch

    config = ScorerConfig(dropout=0.0)
    rng = np.random.default_rng(7)
    people = []
    for index, count in enumerate([40, 100, 100, 160]):
        taste = lfw_crops.reshape(len(lfw_crops), -1) @ rng.normal(size=80 * 80 * 3)
        votes = planted_votes(taste, np.arange(len(lfw_crops)), count, 20 + index)
        people.append(personal_job(lfw_crops, votes, guild_result, config))
    together = train_personal_batch(people)
    alone = [train(job) for job in people]
    for mine, reference in zip(together, alone, strict=True):
        assert mine.metrics.final.accuracy == reference.metrics.final.accuracy
        assert mine.metrics.timings["epochs"] == reference.metrics.timings["epochs"]
        assert mine.metrics.timings["trained_together"] == len(people)
        np.testing.assert_allclose(mine.scores, reference.scores, atol=1e-3)
        for name, value in reference.personal_head.items():
            np.testing.assert_allclose(mine.personal_head[name], value, atol=1e-4)


def test_a_person_the_guild_mispredicts_is_not_pulled_back_to_it(lfw_crops, guild_result):
    """The crowd likes bright faces; a person who likes dark ones gets no pull towards
    the guild (agreement 0) and offsets of their own; one who likes bright faces keeps
    the full pull."""
    from model.training import guild_agreement, train_personal_batch

    brightness = lfw_crops.mean(axis=(1, 2, 3))
    faces = np.arange(len(lfw_crops))
    people = [
        personal_job(lfw_crops, planted_votes(taste, faces, 100, seed), guild_result)
        for taste, seed in ((brightness, 30), (-brightness, 31))
    ]
    like, unlike = train_personal_batch(people)
    assert like.metrics.timings["guild_agreement"] > 0.6
    assert unlike.metrics.timings["guild_agreement"] == 0.0
    assert unlike.metrics.final.accuracy > unlike.metrics.guild_final.accuracy
    assert guild_agreement(np.arange(4.0), Pairs.of([], [], [])) == 0.5  # no votes: halfway


def test_a_guild_in_two_camps_places_a_newcomer_in_theirs_from_20_votes(lfw_crops, split):
    """Half the guild likes bright faces, half dark ones: the guild's own model cannot
    say which a newcomer likes, the taste space it learns from its members can. A
    newcomer who likes dark faces, with 20 votes, is placed on the dark side: their
    model orders faces none of them saw by darkness."""
    seen, unseen = split
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    camps = [
        planted_votes(sign * brightness, seen, 60, 10 + m) for m, sign in enumerate([1, -1] * 6)
    ]
    guild = TrainingJob(
        "guild",
        lfw_crops,
        Pairs.concat(*camps),
        ScorerConfig(),
        FAST,
        voters=np.repeat(np.arange(len(camps)), [len(v) for v in camps]),
    )
    guild_result = train(guild)
    assert np.abs(guild_result.weights["taste_space/kernel"]).max() > 0
    votes = planted_votes(-brightness, seen, 20, 99)
    result = train(personal_job(lfw_crops, votes, guild_result))
    test = planted_votes(-brightness, unseen, 2000, 5)
    located = pairwise_metrics(result.personal_scores, test).accuracy
    crowd = pairwise_metrics(guild_result.scores, test).accuracy
    print(f"unseen faces, by darkness: newcomer's model {located:.3f}, the guild's {crowd:.3f}")
    assert result.metrics.timings["taste_distance"] > 0.5
    assert located >= 0.8 and located > crowd + 0.2


def test_the_guild_head_replaces_a_persons_only_on_clear_evidence():
    """Judged on 20 held-out votes: a lead of one or two votes where the heads disagree
    is noise and keeps the person's head; winning all six disagreements is not."""
    from model.training import _clearly_better

    votes = Pairs.of(np.arange(20), np.arange(20) + 20, np.ones(20))  # face i beats i + 20
    person = np.r_[np.ones(20), np.zeros(20)]  # right on all 20
    guild = person.copy()

    def wrong_on(scores: np.ndarray, count: int) -> np.ndarray:
        scores = scores.copy()
        scores[20 : 20 + count] = 2.0  # face i + 20 now beats face i: wrong
        return scores

    assert not _clearly_better(guild, wrong_on(person, 1), votes)
    assert not _clearly_better(wrong_on(guild, 3), wrong_on(person, 5), votes)  # 2 ahead
    assert _clearly_better(guild, wrong_on(person, 6), votes)
    assert not _clearly_better(wrong_on(guild, 6), person, votes)


def bright_faces_guild(lfw_crops, seen, config, features):
    """A guild model of voters who like bright faces, reading `features` beside the CNN."""
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    votes = planted_votes(brightness, seen, 700, 1)
    return train(TrainingJob("guild", lfw_crops, votes, config, FAST, descriptors=features))


def served_reference_and_guild(lfw_crops, split, config, features, guild, taste, seed):
    """Accuracy on faces nobody voted on for a person with this `taste` and 150 votes:
    what konomi serves them, the plain reference on the same features and votes, and
    the guild's model."""
    from model.linear_taste import logistic_scores

    seen, unseen = split
    votes = planted_votes(taste, seen, 150, seed)
    job = TrainingJob(
        "personal", lfw_crops, votes, config, FAST, guild.weights, guild.offsets, features
    )
    served = train(job)
    content = served.scores - served.offsets  # unseen faces have no offsets
    reference = logistic_scores(features, seen, votes, np.random.default_rng(0))
    test = planted_votes(taste, unseen, 2000, seed + 1)
    accuracy = {
        name: pairwise_metrics(scores, test).accuracy
        for name, scores in (("konomi", content), ("reference", reference), ("guild", guild.scores))
    }
    print(", ".join(f"{name} {value:.3f}" for name, value in accuracy.items()), "on unseen faces")
    return accuracy


def test_a_taste_the_guild_cannot_express_is_served_as_well_as_the_plain_reference(
    lfw_crops, split, descriptors
):
    """The guild likes bright faces; this person's taste is a direction of the
    descriptor the guild never weighs. On faces nobody voted on, what konomi serves
    them is at least as good as the plain reference (a logistic regression on the same
    features, its strength by cross-validation on the same votes), and far better than
    the guild's model."""
    config = ScorerConfig(expression_size=0)
    guild = bright_faces_guild(lfw_crops, split[0], config, descriptors)
    taste = descriptors @ np.random.default_rng(11).normal(size=descriptors.shape[1])
    accuracy = served_reference_and_guild(lfw_crops, split, config, descriptors, guild, taste, 12)
    assert accuracy["konomi"] >= accuracy["reference"] - 0.01
    assert accuracy["konomi"] > accuracy["guild"] + 0.15


def test_the_head_ignores_the_expression_block_and_a_persons_linear_taste_reads_it(
    lfw_crops, split, descriptors
):
    """The guild's head reads the embedding and the descriptor, not the expression
    block: its scores do not move when the block does. A person whose taste lies in the
    block still gets it, through their linear taste, on faces nobody voted on."""
    rng = np.random.default_rng(21)
    block = rng.normal(size=(len(lfw_crops), 16)).astype(np.float32)
    features = np.concatenate([descriptors, block], axis=1)
    config = ScorerConfig(expression_size=16)
    guild = bright_faces_guild(lfw_crops, split[0], config, features)
    model = build_scorer(config)
    set_weights(model, guild.weights)
    moved = np.concatenate([descriptors, rng.normal(size=block.shape)], axis=1)
    before = predict(model, scorer_inputs(config, lfw_crops, features))
    after = predict(model, scorer_inputs(config, lfw_crops, moved))
    print(f"guild scores moved by at most {np.abs(after - before).max():.2e}")
    assert np.allclose(before, after, atol=1e-5)

    taste = block @ rng.normal(size=16)
    accuracy = served_reference_and_guild(lfw_crops, split, config, features, guild, taste, 22)
    assert accuracy["konomi"] >= accuracy["reference"] - 0.01
    assert accuracy["konomi"] > accuracy["guild"] + 0.15


def test_from_ten_votes_a_person_is_served_the_head_they_trained(lfw_crops, split, descriptors):
    """Ten votes hold two out: too few to judge the trained head against the linear
    taste, fitted by cross-validation on eight. A person who likes the bright faces the
    guild likes, and one who likes dark ones, are each served the head they trained (no
    linear term), and faces nobody voted on come in their order."""
    config = ScorerConfig(expression_size=0)
    guild = bright_faces_guild(lfw_crops, split[0], config, descriptors)
    brightness = lfw_crops.mean(axis=(1, 2, 3))
    seen, unseen = split
    for name, taste, seed in (("likes bright", brightness, 40), ("likes dark", -brightness, 41)):
        votes = planted_votes(taste, seen, 10, seed)
        job = TrainingJob(
            "personal", lfw_crops, votes, config, FAST, guild.weights, guild.offsets, descriptors
        )
        result = train(job)
        test = planted_votes(taste, unseen, 2000, seed + 1)
        accuracy = pairwise_metrics(result.scores - result.offsets, test).accuracy
        print(f"{name}, 10 votes: {accuracy:.3f} on unseen faces")
        assert not np.any(result.weights["personal_linear/kernel"])
        for layer, weights in result.personal_head.items():
            np.testing.assert_array_equal(result.weights[layer], weights)
        assert accuracy > 0.85
