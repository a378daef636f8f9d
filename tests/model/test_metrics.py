import json

import numpy as np

from model.metrics import ModelMetrics, PairwiseMetrics, pairwise_metrics
from model.pairs import Pairs


def test_model_metrics_survive_json_and_ignore_unknown_keys():
    held_out = pairwise_metrics(np.array([1.0, 0.0]), Pairs.of([0], [1], [1.0]))
    metrics = ModelMetrics(
        kind="personal",
        train_votes=30,
        held_out_votes=1,
        final=held_out,
        cnn=held_out,
        bradley_terry=PairwiseMetrics(1, 1, 0, 0.5, 0.69),
        uses="guild",
        guild_final=held_out,
        timings={"train_seconds": 1.5},
    )
    stored = json.loads(json.dumps(metrics.to_json()))
    stored["written_by_a_newer_version"] = {"x": 1}
    assert ModelMetrics.from_json(stored) == metrics
    assert ModelMetrics.from_json(stored).final.accuracy == 1.0
