import numpy as np
import pytest

from model.faces import DetectorSettings, NoFaceFound, extract_faces
from tests.images import lfw_faces


@pytest.fixture(scope="session")
def lfw_crops() -> np.ndarray:
    """80x80 crops of the distinct LFW faces Haar finds (about 80 of 100)."""
    crops = []
    for image in lfw_faces():
        try:
            crops.append(extract_faces(image, DetectorSettings())[0].pixels)
        except NoFaceFound:
            pass
    return np.stack(crops)
