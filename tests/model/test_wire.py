import pickle
from dataclasses import replace

import msgpack
import numpy as np
import pytest

from model.pairs import Pairs
from model.settings import ScorerConfig, TrainSettings
from model.training import TrainingJob, train
from model.wire import (
    WireError,
    decode_job,
    decode_pool,
    decode_results,
    encode_job,
    encode_pool,
    encode_refusal,
    encode_results,
    pool_key,
)

SMALL = ScorerConfig(widths=[4], dense_units=4, descriptor_size=0, expression_size=0)
QUICK = TrainSettings(max_epochs=1, min_steps_per_epoch=1)


def small_job(crops: np.ndarray, kind: str = "guild") -> TrainingJob:
    pairs = Pairs.of([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0], [1, 0, 1, 1, 0, 1])
    voters = np.array([31, 31, 32, 32, 33, 31]) if kind == "guild" else None
    return TrainingJob(kind, crops, pairs, SMALL, QUICK, voters=voters)


@pytest.fixture
def crops():
    return np.random.default_rng(0).integers(0, 255, (6, 80, 80, 3), dtype=np.uint8)


def test_a_job_and_its_results_survive_the_wire(crops):
    pool = encode_pool(crops, None)
    job = small_job(crops)
    data = encode_job([job], pool_key(pool), [11, 12, 13, 14, 15, 16], [7])
    [back], face_ids, job_ids = decode_job(data, 10**7, lambda key: decode_pool(pool, 10**7))
    assert face_ids.tolist() == [11, 12, 13, 14, 15, 16]
    np.testing.assert_array_equal(back.crops, crops)
    np.testing.assert_array_equal(back.pairs.y, job.pairs.y)
    np.testing.assert_array_equal(back.voters, job.voters)  # they shape the taste space
    assert back.scorer == SMALL and back.settings == QUICK
    result = train(back)
    encoded = encode_results([back], [result], face_ids, job_ids)
    [(scorer, again)], ids, job_ids = decode_results(encoded, 10**8)
    assert scorer == SMALL and ids == [11, 12, 13, 14, 15, 16] and job_ids == [7]
    assert again.metrics == result.metrics
    np.testing.assert_array_equal(again.coordinates, result.coordinates)  # for pair choice
    for name, value in result.weights.items():
        np.testing.assert_array_equal(again.weights[name], value)


def test_the_pool_travels_apart_and_is_named_by_its_content(crops):
    pool = encode_pool(crops, None)
    data = encode_job([small_job(crops)], pool_key(pool), list(range(6)))
    assert len(data) < len(pool) / 10  # the crops are not in the job
    assert pool_key(pool) == pool_key(encode_pool(crops.copy(), None))
    assert pool_key(pool) != pool_key(encode_pool(crops[::-1].copy(), None))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xc1not msgpack", "not valid msgpack"),
        (msgpack.packb({"format": 99}), "format"),
        (msgpack.packb([1, 2, 3]), "format"),
        (pickle.dumps({"format": 1}), "not valid msgpack"),
        (msgpack.packb({"format": 1, "pool": "k", "steps": [{"kind": "guild"}]}), "malformed"),
        (msgpack.packb({"format": 1, "pool": "k", "steps": []}), "at least one step"),
        ("a string", "must be bytes"),
        (b"x" * 1001, "over the limit"),
    ],
)
def test_malformed_and_oversized_jobs_are_refused_with_their_reason(data, reason):
    with pytest.raises(WireError, match=reason):
        decode_job(data, 1000, lambda key: pytest.fail("no pool is read for a bad job"))


def test_an_array_whose_bytes_do_not_match_its_shape_is_refused(crops):
    pool = msgpack.unpackb(encode_pool(crops, None))
    pool["crops"]["shape"] = [600, 80, 80, 3]
    with pytest.raises(WireError, match="wrong byte count"):
        decode_pool(msgpack.packb(pool, use_bin_type=True), 10**8)
    pool["crops"]["dtype"] = "|O"
    with pytest.raises(WireError, match="dtype"):
        decode_pool(msgpack.packb(pool, use_bin_type=True), 10**8)


def test_votes_outside_the_pool_and_orphan_personal_steps_are_refused(crops):
    pool = encode_pool(crops[:3], None)
    load = lambda key: decode_pool(pool, 10**7)  # noqa: E731
    with pytest.raises(WireError, match="outside the pool"):
        decode_job(encode_job([small_job(crops)], pool_key(pool), [1, 2, 3]), 10**7, load)
    personal = TrainingJob("personal", crops[:3], Pairs.of([0], [1], [1]), SMALL, QUICK)
    with pytest.raises(WireError, match="guild step before it"):
        decode_job(encode_job([personal], pool_key(pool), [1, 2, 3]), 10**7, load)
    guild = TrainingJob(
        "guild", crops[:3], Pairs.of([0], [1], [1]), SMALL, QUICK, voters=np.array([1, 2])
    )
    with pytest.raises(WireError, match="one member per vote"):
        decode_job(encode_job([guild], pool_key(pool), [1, 2, 3]), 10**7, load)


def test_a_refusal_reads_as_its_reason():
    with pytest.raises(WireError, match="refused the job: pool gone"):
        decode_results(encode_refusal("pool gone"), 1000)


def test_people_trained_together_carry_the_guild_weights_once(crops):
    pool = encode_pool(crops, None)
    guild = train(small_job(crops))
    people = [
        TrainingJob(
            "personal",
            crops,
            Pairs.of([0, 2, 4], [1, 3, 5], [1, 0, 1]),
            SMALL,
            QUICK,
            base_weights=guild.weights,
            base_offsets=guild.offsets,
        )
        for _ in range(5)
    ]
    five = encode_job(people, pool_key(pool), list(range(6)))
    copies = [replace(p, base_weights=dict(p.base_weights)) for p in people]  # not shared
    weight_bytes = sum(value.nbytes for value in guild.weights.values())
    assert len(encode_job(copies, pool_key(pool), list(range(6)))) - len(five) >= 4 * weight_bytes
    steps, _, _ = decode_job(five, 10**7, lambda key: decode_pool(pool, 10**7))
    for step in steps:
        for name, value in guild.weights.items():
            np.testing.assert_array_equal(step.base_weights[name], value)
