import numpy as np
import pytest

from tests.images import lfw_crops as lfw_crop_list


@pytest.fixture(scope="session")
def lfw_crops() -> np.ndarray:
    """80x80 crops of the distinct LFW faces Haar finds (about 80 of 100)."""
    return np.stack(lfw_crop_list())
