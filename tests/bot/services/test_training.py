import numpy as np
import pytest

from bot.services.errors import NoGuildModel, NotEnoughVotes, TooSoon
from storage import jobs
from tests.bot.conftest import ALICE, GUILD
from tests.bot.services.conftest import open_service


async def test_a_request_joins_an_automatic_retrain_and_only_requests_count_for_the_wait(
    tmp_path,
):
    service = await open_service(tmp_path, worker={"retrain_cooldown_s": 600}, faces=6)
    try:
        automatic, _ = await jobs.enqueue(service.db, GUILD, ALICE)  # as the schedule queues
        first = await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert not first.created and first.job.id == automatic.id  # joined, not refused
        with pytest.raises(TooSoon, match="You asked for a retrain .* Try again in") as refused:
            await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert 0 < refused.value.retry_after <= 600
    finally:
        await service.close()


async def test_a_request_joins_an_automatic_retrain_already_running(tmp_path):
    service = await open_service(tmp_path, worker={"retrain_cooldown_s": 0}, faces=6)
    try:
        automatic, _ = await jobs.enqueue(service.db, GUILD, ALICE)
        [running] = await jobs.claim_batch(service.db, worker_pid=1, limit=1)
        assert running.id == automatic.id
        joined = await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert not joined.created and joined.job.id == automatic.id
        assert joined.job.state == "running" and joined.job.notify_channel_id == 5
        # Her own running job is not joined again: a later request queues a new one.
        again = await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert again.created and again.job.state == "queued"
    finally:
        await service.close()


async def test_a_request_below_the_minimum_is_refused_at_once_with_the_votes_needed(tmp_path):
    service = await open_service(tmp_path, faces=6, crowd_votes=0, alice_votes=3)
    try:
        with pytest.raises(NotEnoughVotes, match="You have 3 votes here; .* needs 10. Vote 7"):
            await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert await jobs.count_jobs(service.db, "queued") == 0
    finally:
        await service.close()


async def test_models_need_votes_and_a_person_needs_the_guild_model(tmp_path):
    service = await open_service(tmp_path, faces=6, crowd_votes=0, alice_votes=40)
    try:
        with pytest.raises(NotEnoughVotes, match="this server has 0 votes"):
            await service.training.build_job(GUILD + 1, None)
        with pytest.raises(NoGuildModel):
            await service.training.build_job(GUILD, ALICE)
    finally:
        await service.close()


async def test_pool_crops_are_decoded_once_and_follow_the_pool(tmp_path):
    """Each job reads the pool; a face's crop is decoded once, new faces join and hidden
    ones leave, and the result is what a fresh service reads."""
    import numpy as np

    from bot.services.training import TrainingService
    from model.faces import phash
    from model.images import encode_png
    from storage import pool
    from tests.images import lfw_crops

    service = await open_service(tmp_path, faces=8, crowd_votes=0, alice_votes=0)
    try:
        first = await service.training.pool_faces(GUILD)
        ids = first.ids
        again = await service.training.pool_faces(GUILD)
        assert service.training.crops_decoded == len(ids) == 8
        np.testing.assert_array_equal(again.crops, first.crops)
        extra = lfw_crops()[20]
        await pool.add_source(
            service.db,
            GUILD,
            "new",
            "new.png",
            [pool.NewFace(encode_png(extra), (0, 0, 80, 80), phash(extra))],
        )
        await pool.set_hidden(service.db, GUILD, ids[0], True)
        now = await service.training.pool_faces(GUILD)
        assert service.training.crops_decoded == 9  # only the new face
        expected = await TrainingService(service.db, service.settings).pool_faces(GUILD)
        assert now.ids == expected.ids and ids[0] not in now.ids and len(now.ids) == 8
        np.testing.assert_array_equal(now.crops, expected.crops)
    finally:
        await service.close()


async def test_people_queued_together_train_in_one_pass_each_with_their_own_outcome(tmp_path):
    """Four people of one guild claimed together: the guild model is trained first, two
    get their own model from one pass, one with too few votes is told so, and one who
    asks to be forgotten while the pass trains gets no model (the others keep theirs)."""
    import asyncio

    from bot.services.training import ModelRefused
    from model.store import pool_view, unpack
    from storage import jobs, models, pool, votes
    from tests.bot.conftest import CROWD

    service = await open_service(tmp_path, faces=24, crowd_votes=30, alice_votes=40)
    try:
        db = service.db
        await votes.add_votes(db, GUILD, 7, [(1, 2, 1.0), (2, 3, 1.0)])  # too few
        people = [ALICE, CROWD[0], 7, CROWD[1]]
        for user in people:
            await jobs.enqueue(db, GUILD, user)
        claimed = await jobs.claim_batch(db, 4242, limit=10)
        assert [job.user_id for job in claimed] == people
        loop = asyncio.get_running_loop()
        training = asyncio.Event()

        def progress(epoch: int, epochs: int, loss: float | None) -> None:
            loop.call_soon_threadsafe(training.set)

        task = asyncio.create_task(service.training.train_together(GUILD, claimed, progress))
        await training.wait()
        while await models.latest_model(db, GUILD, None) is None:  # the guild's step
            training.clear()
            await training.wait()
        training.clear()
        await training.wait()  # now the people's pass
        await service.privacy.forget(GUILD, CROWD[1])
        alice, crowd, few, forgotten = await task
        assert alice.user_id == ALICE and crowd.user_id == CROWD[0]
        assert alice.metrics["timings"]["trained_together"] == 3
        assert alice.config["base_model_id"] == (await models.latest_model(db, GUILD, None)).id
        assert isinstance(few, NotEnoughVotes) and "you have 2 votes" in str(few)
        assert isinstance(forgotten, ModelRefused)
        assert await models.latest_model(db, GUILD, CROWD[1]) is None
        # The guild learned a taste space from its members; each model keeps the pool
        # as it saw it (scores, places in that space): what choosing pairs reads.
        guild = await models.latest_model(db, GUILD, None)
        view = pool_view((await models.get_model(db, alice.id)).weights_npz)
        faces = [face.id for face in await pool.list_faces(db, GUILD)]
        assert sorted(view.scores) == sorted(faces) and view.dims == 8
        assert np.abs(unpack(guild.weights_npz)[0]["taste_space/kernel"]).max() > 0
    finally:
        await service.close()


async def test_the_guild_model_keeps_an_expression_basis_fitted_on_its_pool_alone(tmp_path):
    """`faces describe` fills in the faces' expression HOGs; the guild model keeps the
    basis fitted on the faces it trained on (a face added later changes nothing until
    the next retrain), a person's model reads through it, and /rank projects an upload
    on it."""
    from model.expression import ExpressionPCA
    from model.images import encode_png
    from model.store import expression_basis
    from storage import models, pool
    from tests.images import lfw_crops

    service = await open_service(tmp_path, faces=10, crowd_votes=30, alice_votes=30)
    try:
        described, refused = await service.pool.describe_missing(GUILD)
        assert described + refused == 10 and described >= 8
        faces = await service.training.pool_faces(GUILD)
        assert faces.expressions is not None and (faces.expressions != 0).any(1).sum() == described
        guild = await service.training.train_now(GUILD, None)
        stored = ExpressionPCA.from_arrays(expression_basis(guild.weights_npz))
        unseen = lfw_crops(256)[30:33]
        await pool.add_source(
            service.db,
            GUILD,
            "later",
            "later.png",
            [pool.NewFace(encode_png(unseen[0]), (0, 0, 80, 80), 1)],
        )
        await service.pool.describe_missing(GUILD)
        grown = await service.training.pool_faces(GUILD)
        assert len(grown.ids) == 11
        # the stored basis is the one fitted on the 10 faces it trained on, not the 11 now
        probe = grown.expressions
        np.testing.assert_allclose(stored.project(probe), faces.basis.project(probe), atol=1e-4)
        assert not np.allclose(stored.project(probe), grown.basis.project(probe), atol=1e-3)
        personal = await service.training.train_now(GUILD, ALICE)
        assert expression_basis(personal.weights_npz) is None  # a head only: the guild's basis
        scorer, model, is_personal = await service.ranking.scorer_for(GUILD, ALICE)
        assert is_personal and model.id == personal.id
        np.testing.assert_allclose(scorer.basis.project(probe), stored.project(probe), atol=1e-6)
        ranked = await service.ranking.rank_files(
            GUILD, ALICE, [(f"{i}.png", encode_png(crop)) for i, crop in enumerate(unseen[1:])]
        )
        uploads = ranked.uploads
        assert all(upload.expression is not None for upload in uploads)
        crops = np.stack([upload.crop for upload in uploads])
        descriptors = np.stack([upload.descriptor for upload in uploads])
        expressions = np.stack([upload.expression for upload in uploads])
        read = scorer.score_crops(crops, descriptors, expressions)
        np.testing.assert_allclose(np.sort(read)[::-1], ranked.scores, atol=1e-5)
        assert not np.allclose(read, scorer.score_crops(crops, descriptors), atol=1e-4)
        assert (await models.latest_model(service.db, GUILD, None)).id == guild.id
    finally:
        await service.close()


async def test_a_guild_model_whose_head_read_the_expression_block_is_retrained_first(tmp_path):
    """A guild model stored before the head's expression rows were held at zero (its
    record has no head version) is not what a person's head may sit on: the person's
    next retrain trains the guild's model again first, and the new one ignores the
    block."""
    from model.store import ModelRecord, unpack
    from storage import models

    service = await open_service(tmp_path, faces=10, crowd_votes=30, alice_votes=30)
    try:
        await service.pool.describe_missing(GUILD)
        trained = await service.training.train_now(GUILD, None)
        before_versions = dict(trained.config)
        del before_versions["head_version"]
        old = await models.save_model(
            service.db,
            guild_id=GUILD,
            user_id=None,
            architecture=trained.architecture,
            config=before_versions,
            weights_npz=trained.weights_npz,
            metrics=trained.metrics,
        )
        assert ModelRecord.from_json(old.config).head_version == 1
        assert not (await service.training.guild_start(GUILD)).current
        personal = await service.training.train_now(GUILD, ALICE)
        guild = await models.latest_model(service.db, GUILD, None)
    finally:
        await service.close()
    print(f"guild models: {trained.id}, {old.id} (stored as before), {guild.id}")
    assert guild.id > old.id
    assert ModelRecord.from_json(personal.config).base_model_id == guild.id
    scorer = ModelRecord.from_json(guild.config).scorer
    kernel = unpack(guild.weights_npz)[0]["head_dense/kernel"]
    assert scorer.expression_size and np.abs(kernel[-scorer.expression_size :]).max() == 0
    assert np.abs(kernel[: -scorer.expression_size]).max() > 0
