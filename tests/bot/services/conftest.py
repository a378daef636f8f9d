import pytest

from bot.config import load_settings
from bot.services.konomi import KonomiService
from storage import open_database
from tests.bot.conftest import populate, write_config


async def open_service(tmp_path, worker: dict | None = None, **populated) -> KonomiService:
    """The real service on a real SQLite file holding a small pool of LFW faces (and the
    votes `populate` casts unless told otherwise)."""
    settings = load_settings(write_config(tmp_path, worker=worker), environ={})
    await populate(tmp_path / "k.sqlite3", **populated)
    return KonomiService(await open_database(tmp_path / "k.sqlite3"), settings)


@pytest.fixture
async def service(tmp_path):
    service = await open_service(tmp_path, faces=6, crowd_votes=0, alice_votes=0)
    yield service
    await service.close()
