"""Ranking: uploads read in the image helpers, scored by the person's model (the
guild's until they have one), and the pool as their model sees it (/mytaste)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiosqlite
import numpy as np

from bot.config import Settings
from bot.i18n import FileProblems, t
from bot.services import render
from bot.services.errors import NoGuildModel, NoPersonalModel, NothingToRank, PoolTooSmall
from bot.services.imaging import Deadline, ImageHelpers
from model.bradley_terry import win_chance
from model.descriptor import stack_descriptors, unpack_descriptor
from model.expression import stack_expressions, unpack_expression
from model.faces import resize_square
from model.images import ImageError, decode_png
from model.loading import LoadedScorer, ScorerCache, load_scorer
from model.store import ModelRecord
from storage import models, pool
from storage.models import StoredModel

_POOL_SCORES_KEPT = 64  # people's pool scores kept for /mytaste (8 KB each at 1,000 faces)


@dataclass(frozen=True)
class Upload:
    """An image prepared for ranking: the crop scored, and what happened to it."""

    name: str
    crop: np.ndarray
    face_found: bool
    descriptor: np.ndarray | None  # None: no face, or dlib refused it
    expression: np.ndarray | None = None  # the raw expression HOG, taken with it


@dataclass(frozen=True)
class Scores:
    scores: np.ndarray
    beats_median: np.ndarray  # P(beats the pool's median face)
    model: StoredModel
    personal: bool  # False: scored by the guild model


@dataclass(frozen=True)
class RankedUploads:
    """Uploads best first, with what could not be ranked and why."""

    uploads: list[Upload]
    scores: np.ndarray
    beats_median: np.ndarray
    version: int
    personal: bool
    problems: list[tuple[str, object]]  # (file name, why: an ImageError or a Text)
    seconds: dict[str, float] = field(default_factory=dict)  # "helpers", "scoring"

    def to_json(self) -> dict:
        """Best first, for scripts (`python -m bot rank --json`)."""
        return {
            "model": {"version": self.version, "personal": self.personal},
            "ranked": [
                {
                    "file": upload.name,
                    "score": float(score),
                    "beats_median": float(chance),
                    "face_found": upload.face_found,
                }
                for upload, score, chance in zip(
                    self.uploads, self.scores, self.beats_median, strict=True
                )
            ],
            "skipped": [{"file": name, "reason": str(why)} for name, why in self.problems],
        }

    def sheet(self) -> bytes:
        """The ranking as one image: crops in order with their chance to beat the median."""
        return render.ranking_sheet(
            [u.crop for u in self.uploads],
            [u.name for u in self.uploads],
            [float(p) for p in self.beats_median],
        )


@dataclass(frozen=True)
class TasteSheet:
    png: bytes
    shown: int  # faces in each top
    personal_version: int | None  # None: the member has no model of their own yet
    guild_version: int
    shared: int  # faces in both tops


@dataclass(frozen=True)
class PoolScores:
    """A model's scores of the visible pool faces (`ids`, in pool order)."""

    ids: list[int]
    scores: np.ndarray
    version: int
    personal: bool

    def top(self, count: int) -> list[int]:
        return [self.ids[i] for i in np.argsort(-self.scores, kind="stable")[:count]]

    def chances(self, faces: list[int]) -> list[float]:
        """Each face's chance to be preferred over the pool's median face."""
        chance = dict(zip(self.ids, beats(self.scores, float(np.median(self.scores))), strict=True))
        return [float(chance[face]) for face in faces]


def beats(scores: np.ndarray, median: float) -> np.ndarray:
    """P(a face beats the median face) under the RankNet (logistic) model."""
    return win_chance(scores - median)


class RankingService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings, images: ImageHelpers) -> None:
        self.db = db
        self.settings = settings
        self.images = images
        self.scorers = ScorerCache()
        # /mytaste: pool scores by (model id, face ids, described faces), newest last.
        self._pool_scores: dict[tuple, np.ndarray] = {}
        self.pool_scorings = 0  # times the whole pool was scored (the rest reused scores)

    async def scorer_for(
        self, guild_id: int, user_id: int | None
    ) -> tuple[LoadedScorer, StoredModel, bool]:
        """The person's latest model, else the guild's; raises NoGuildModel without one."""
        stored = await models.latest_model(self.db, guild_id, user_id) if user_id else None
        personal = stored is not None
        if stored is None:
            stored = await models.latest_model(self.db, guild_id, None)
        if stored is None:
            raise NoGuildModel("errors.no_model_yet")
        record = ModelRecord.from_json(stored.config)
        base_npz = None
        if record.base_model_id is not None:
            base = await models.get_model(self.db, record.base_model_id)
            base_npz = base.weights_npz if base else None
        scorer = await asyncio.to_thread(
            self.scorers.get,
            stored.id,
            lambda: load_scorer(
                stored.architecture, record.scorer.to_json(), stored.weights_npz, base_npz
            ),
        )
        return scorer, stored, personal

    async def prepare_uploads(
        self, files: list[tuple[str, bytes]]
    ) -> tuple[list[Upload], list[tuple[str, str]]]:
        """Each file's largest face (the whole image when none) at the model's input size,
        read by the image helpers in parallel; (name, reason) for each file that failed."""

        deadline = Deadline(self.settings.limits.answer_within_s)

        async def prepare(name: str, data: bytes) -> Upload | ImageError:
            try:
                found = await deadline.run(
                    self.images.read_image(
                        data, most=1, describe=self.settings.model.descriptor_size > 0
                    )
                )
            except ImageError as error:
                return error
            face = found.faces[0] if found.faces else None
            pixels = face.pixels if face else found.whole
            return Upload(
                name,
                resize_square(pixels, self.settings.model.input_size),
                face is not None,
                face.descriptor if face else None,
                face.expression if face else None,
            )

        results = await asyncio.gather(*(prepare(name, data) for name, data in files))
        uploads = [r for r in results if isinstance(r, Upload)]
        problems = [
            (name, r)
            for (name, _), r in zip(files, results, strict=True)
            if isinstance(r, ImageError)
        ]
        return uploads, problems

    async def score(self, guild_id: int, user_id: int | None, uploads: list[Upload]) -> Scores:
        scorer, stored, personal = await self.scorer_for(guild_id, user_id)
        crops = np.stack([u.crop for u in uploads])
        descriptors = stack_descriptors([u.descriptor for u in uploads])
        expressions = stack_expressions([u.expression for u in uploads])
        scores = await asyncio.to_thread(scorer.score_crops, crops, descriptors, expressions)
        median = ModelRecord.from_json(stored.config).pool_median
        return Scores(scores, beats(scores, median), stored, personal)

    async def rank_files(
        self,
        guild_id: int,
        user_id: int | None,
        files: list[tuple[str, bytes]],
        problems: list[tuple[str, str]] = (),
    ) -> RankedUploads:
        """Rank files by the person's taste, best first. `problems` are files that failed
        before reading (a download, a missing file); they are reported with the rest.
        Raises NothingToRank when no file could be read, NoGuildModel without a model."""
        started = time.perf_counter()
        uploads, unreadable = await self.prepare_uploads(files)
        read = time.perf_counter()
        problems = [*problems, *unreadable]
        if not uploads:
            raise NothingToRank("errors.nothing_to_rank", problems=FileProblems(tuple(problems)))
        scored = await self.score(guild_id, user_id, uploads)
        order = np.argsort(-scored.scores, kind="stable")
        return RankedUploads(
            [uploads[i] for i in order],
            scored.scores[order],
            scored.beats_median[order],
            scored.model.version,
            scored.personal,
            problems,
            {"helpers": read - started, "scoring": time.perf_counter() - read},
        )

    async def pool_scores(self, guild_id: int, user_id: int | None) -> PoolScores:
        """The visible pool's scores under the person's model (the guild's when they
        have none, or for None), kept until the model, the pool or its descriptors
        change: asking again costs nothing."""
        faces = await pool.list_faces(self.db, guild_id)
        if len(faces) < 2:
            raise PoolTooSmall("errors.nothing_to_show")
        scorer, stored, personal = await self.scorer_for(guild_id, user_id)
        ids = [face.id for face in faces]
        key = (stored.id, tuple(ids), await pool.described_faces(self.db, guild_id))
        scores = self._pool_scores.pop(key, None)
        if scores is None:
            crops_png = await pool.face_crops(self.db, guild_id, ids)
            packed = await pool.face_descriptors(self.db, guild_id, ids)
            hogs = await pool.face_expressions(self.db, guild_id, ids)

            def score() -> np.ndarray:
                crops = np.stack([decode_png(crops_png[i]) for i in ids])
                descriptors = stack_descriptors([unpack_descriptor(packed.get(i)) for i in ids])
                expressions = stack_expressions([unpack_expression(hogs.get(i)) for i in ids])
                return scorer.score_pool(ids, crops, descriptors, expressions)

            scores = await asyncio.to_thread(score)
            self.pool_scorings += 1
        self._pool_scores[key] = scores
        while len(self._pool_scores) > _POOL_SCORES_KEPT:
            self._pool_scores.pop(next(iter(self._pool_scores)))
        return PoolScores(ids, scores, stored.version, personal)

    async def my_taste(
        self, guild_id: int, user_id: int, locale: object = None, most: int = 5
    ) -> TasteSheet:
        """The member's favourite pool faces (their model's) beside the server's (the
        guild model's), as one sheet: theirs on the first row, the server's below,
        labelled in the reader's language."""
        server = await self.pool_scores(guild_id, None)
        mine = await self.pool_scores(guild_id, user_id)
        shown = min(most, len(server.ids))
        server_top = server.top(shown)
        mine_top = mine.top(shown) if mine.personal else []
        picks = [*mine_top, *server_top]
        crops_png = await pool.face_crops(self.db, guild_id, picks)

        def sheet() -> bytes:
            labels = [t(locale, "image.yours", id=face) for face in mine_top]
            labels += [
                t(
                    locale,
                    "image.servers_yours_too" if face in mine_top else "image.servers",
                    id=face,
                )
                for face in server_top
            ]
            chances = [*mine.chances(mine_top), *server.chances(server_top)]
            crops = [decode_png(crops_png[face]) for face in picks]
            return render.ranking_sheet(crops, labels, chances)

        png = await asyncio.to_thread(sheet)
        return TasteSheet(
            png,
            shown,
            mine.version if mine.personal else None,
            server.version,
            len(set(mine_top) & set(server_top)),
        )

    async def taste_match(self, guild_id: int, user_id: int, other_id: int) -> float:
        """How alike two members' models order the pool (Spearman's rank correlation,
        -1..1); raises NoPersonalModel when either has no model of their own."""
        mine = [await models.latest_model(self.db, guild_id, m) for m in (user_id, other_id)]
        if not all(mine):
            raise NoPersonalModel(
                "errors.match_needs_models", needed=self.settings.worker.personal_min_votes
            )
        orders = [await self.pool_scores(guild_id, member) for member in (user_id, other_id)]
        ranks = [np.argsort(np.argsort(order.scores)) for order in orders]
        if ranks[0].std() == 0 or ranks[1].std() == 0:
            return 0.0
        return float(np.corrcoef(ranks[0], ranks[1])[0, 1])
