"""The same stored model scores the same under TensorFlow and JAX (the GPU check path)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model.loading import load_scorer
from model.scorer import ScorerConfig, build_scorer, get_weights
from model.store import pack
from model.training import predict

SCORE_UNDER_JAX = """
import json, sys
import numpy as np
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
from model.loading import load_scorer
crops = np.load(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    scorer = load_scorer("konomi-cnn-v1", json.loads(sys.argv[3]), f.read())
np.save(sys.argv[4], scorer.score_crops(crops))
"""


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="JAX is not installed here (pip install jax to run this check)",
)
def test_a_model_saved_under_tensorflow_scores_the_same_under_jax(tmp_path, lfw_crops):
    config = ScorerConfig()
    model = build_scorer(config)
    weights = tmp_path / "model.npz"
    weights.write_bytes(pack(get_weights(model), np.array([1]), np.array([0.0])))
    crops = tmp_path / "crops.npy"
    np.save(crops, lfw_crops[:16])
    out = tmp_path / "scores.npy"
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCORE_UNDER_JAX,
            str(weights),
            str(crops),
            json.dumps(config.to_json()),
            str(out),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = load_scorer("konomi-cnn-v1", config.to_json(), weights.read_bytes())
    np.testing.assert_allclose(
        np.load(out), expected.score_crops(lfw_crops[:16]), rtol=1e-4, atol=1e-4
    )
    assert np.std(predict(model, lfw_crops[:16].astype(np.float32))) > 0
