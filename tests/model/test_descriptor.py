import numpy as np
import pytest

from model.descriptor import (
    DESCRIPTOR_SIZE,
    describe,
    model_path,
    pack_descriptor,
    stack_descriptors,
    unpack_descriptor,
)
from model.faces import extract_faces
from model.settings import DetectorSettings
from tests.images import astronaut


def test_the_same_face_is_near_itself_at_any_crop_size_and_far_from_a_flipped_world():
    settings = DetectorSettings()
    [large] = extract_faces(astronaut(), DetectorSettings(crop_size=256))
    [small] = extract_faces(astronaut(), DetectorSettings(crop_size=80))
    a, b = describe(large.pixels, settings.margin), describe(small.pixels, settings.margin)
    assert a.shape == (DESCRIPTOR_SIZE,) and a.dtype == np.float32
    upside_down = describe(large.pixels[::-1].copy(), settings.margin)
    print(
        f"256 vs 80 px: {np.linalg.norm(a - b):.3f}; upside down: "
        f"{np.linalg.norm(a - upside_down):.3f}"
    )
    assert np.linalg.norm(a - b) < 0.3 < np.linalg.norm(a - upside_down)


def test_only_the_two_permitted_model_files_are_ever_opened():
    assert model_path("shape_predictor_5_face_landmarks.dat").endswith(".dat")
    with pytest.raises(ValueError, match="loads only"):
        model_path("shape_predictor_68_face_landmarks.dat")  # non-commercial licence


def test_stored_descriptors_round_trip_and_bad_blobs_are_refused():
    values = np.linspace(-1, 1, DESCRIPTOR_SIZE).astype(np.float32)
    assert np.array_equal(unpack_descriptor(pack_descriptor(values)), values)
    assert unpack_descriptor(None) is None
    with pytest.raises(ValueError):
        unpack_descriptor(b"\x00" * 12)
    with pytest.raises(ValueError):
        unpack_descriptor(pack_descriptor(np.full(DESCRIPTOR_SIZE, np.nan)))
    stacked = stack_descriptors([values, None])
    assert stacked.shape == (2, DESCRIPTOR_SIZE) and not stacked[1].any()
