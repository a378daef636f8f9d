import numpy as np
import pytest

from model.faces import (
    DetectorSettings,
    NoFaceFound,
    crop_square,
    extract_faces,
    hamming,
    nearest_distance,
    phash,
    whole_image,
)
from tests.images import astronaut, lfw_crops, lfw_faces, no_face_image


def test_astronaut_has_exactly_one_face_cropped_to_the_configured_size():
    for size in (80, 96):
        [face] = extract_faces(astronaut(), DetectorSettings(crop_size=size))
        assert face.pixels.shape == (size, size, 3) and face.pixels.dtype == np.uint8
        x, y, w, h = face.box
        assert 150 < x + w / 2 < 300 and 80 < y + h / 2 < 180  # her face, not the flag


def test_most_distinct_lfw_faces_are_found():
    assert len(lfw_faces()) == 100
    assert len(lfw_crops()) >= 75


@pytest.mark.parametrize("seed", range(3))
def test_an_image_without_a_face_raises(seed):
    with pytest.raises(NoFaceFound, match="no face"):
        extract_faces(no_face_image(seed), DetectorSettings())


def test_crop_near_the_border_is_padded_not_shrunk():
    image = astronaut()
    crop = crop_square(image, (0, 0, 100, 100), margin=0.5, size=64)
    assert crop.shape == (64, 64, 3)


def test_whole_image_fallback_is_square():
    assert whole_image(np.zeros((30, 90, 3), np.uint8), 80).shape == (80, 80, 3)


def test_a_missing_cascade_is_reported_by_path():
    with pytest.raises(FileNotFoundError, match="nope.xml"):
        extract_faces(astronaut(), DetectorSettings(cascade="/nope.xml"))


def test_phash_tells_distinct_faces_apart_and_matches_a_recompressed_copy():
    faces = lfw_crops()[:40]
    hashes = [phash(face) for face in faces]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 4
    from model.images import decode_image
    from tests.images import encode

    copy = decode_image(encode(faces[0], "JPEG", quality=85))
    assert nearest_distance(phash(copy), np.array(hashes, dtype=np.uint64)) <= 4


def test_anime_cascade_by_path(shared_data):
    cascade = shared_data / "cascades" / "lbpcascade_animeface.xml"
    from model.faces import check_cascade

    check_cascade(DetectorSettings(cascade=str(cascade)))


def test_faces_are_found_on_a_downscaled_copy_and_boxed_in_the_original():
    import cv2

    [small] = extract_faces(astronaut(), DetectorSettings())
    large = cv2.resize(astronaut(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
    [found] = extract_faces(large, DetectorSettings(detect_max_side=512))
    assert np.allclose(found.box, np.array(small.box) * 4, atol=8)
    assert found.pixels.shape == (256, 256, 3)


def test_threads_each_use_their_own_classifier_and_agree_with_one_thread():
    from concurrent.futures import ThreadPoolExecutor

    from model.faces import detect_faces

    images = lfw_faces()[:24]
    alone = [detect_faces(image, DetectorSettings()) for image in images]
    with ThreadPoolExecutor(4) as threads:
        together = list(threads.map(lambda i: detect_faces(i, DetectorSettings()), images * 4))
    assert together == alone * 4
