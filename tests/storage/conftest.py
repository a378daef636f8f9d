import pytest

from storage import open_database


@pytest.fixture
async def db(tmp_path):
    connection = await open_database(tmp_path / "k.sqlite3")
    yield connection
    await connection.close()
