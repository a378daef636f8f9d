import io

import numpy as np
import pytest

from model.loading import ScorerCache, UnknownArchitecture, load_scorer
from model.scorer import ScorerConfig, build_scorer, get_weights
from model.store import pack, pool_view, unpack


def test_pack_round_trip():
    weights = {"score/kernel": np.ones((64, 1), np.float32)}
    data = pack(weights, np.array([5, 7]), np.array([0.5, -0.25]))
    back, offsets = unpack(data)
    np.testing.assert_array_equal(back["score/kernel"], weights["score/kernel"])
    assert offsets == {5: 0.5, 7: -0.25}


def test_the_pool_as_the_model_saw_it_travels_with_the_weights():
    weights = {"score/bias": np.array([0.5], np.float32)}
    coordinates = np.arange(6, dtype=np.float32).reshape(3, 2)
    data = pack(
        weights, np.array([7, 8, 9]), np.zeros(3), scores=[1, 2, 3], coordinates=coordinates
    )
    view = pool_view(data)
    assert view.scores == {7: 1.0, 8: 2.0, 9: 3.0} and view.dims == 2
    np.testing.assert_array_equal(view.coordinates[9], [4.0, 5.0])
    assert set(unpack(data)[0]) == {"score/bias"}  # never mistaken for weights
    older = pool_view(pack(weights, np.array([7, 8, 9]), np.zeros(3)))
    assert older.scores == {} and older.dims == 0  # stored before: nothing to judge by


def test_pickled_arrays_are_refused():
    buffer = io.BytesIO()
    np.savez(
        buffer,
        evil=np.array([object()], dtype=object),
        __offset_face_ids=np.array([1]),
        __offset_values=np.array([0.0]),
    )
    with pytest.raises(ValueError, match="pickle"):
        unpack(buffer.getvalue())


def test_unknown_architecture_is_refused():
    data = pack(get_weights(build_scorer(ScorerConfig())), np.array([]), np.array([]))
    with pytest.raises(UnknownArchitecture):
        load_scorer("lambda-layer-net", ScorerConfig().to_json(), data)


def test_weights_of_the_wrong_shape_are_refused():
    data = pack({"score/kernel": np.ones((3, 1), np.float32)}, np.array([]), np.array([]))
    with pytest.raises(ValueError, match="score/kernel"):
        load_scorer("konomi-cnn-v1", ScorerConfig().to_json(), data)


def test_cache_loads_once_and_evicts_the_least_recently_used():
    cache = ScorerCache(capacity=2)
    made = []

    def loader(key):
        return lambda: made.append(key) or key

    for key in ["a", "b", "a", "c", "a", "b"]:
        assert cache.get(key, loader(key)) == key
    assert made == ["a", "b", "c", "b"]


def test_a_model_stored_before_the_descriptor_loads_and_scores_as_the_cnn_alone():
    """Configs written before descriptor_size existed are the CNN alone: they keep
    loading, and the descriptors given with new faces are not read."""
    old = ScorerConfig(descriptor_size=0, expression_size=0)
    stored_config = {
        k: v for k, v in old.to_json().items() if k not in ("descriptor_size", "expression_size")
    }
    data = pack(get_weights(build_scorer(old)), np.array([]), np.array([]))
    loaded = load_scorer("konomi-cnn-v1", stored_config, data)
    crops = np.random.default_rng(0).integers(0, 255, (3, 80, 80, 3), dtype=np.uint8)
    descriptors = np.random.default_rng(1).normal(size=(3, 128)).astype(np.float32)
    np.testing.assert_array_equal(loaded.score_crops(crops, descriptors), loaded.score_crops(crops))
    new = load_scorer(
        "konomi-cnn-v1",
        ScorerConfig().to_json(),
        pack(get_weights(build_scorer(ScorerConfig())), np.array([]), np.array([])),
    )
    assert not np.array_equal(new.score_crops(crops, descriptors), new.score_crops(crops))
