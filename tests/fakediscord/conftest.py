import pytest

from tests.fakediscord import FakeDiscord, Rules


@pytest.fixture
async def discord_server():
    fake = FakeDiscord(Rules(interaction_deadline_s=3.0))
    await fake.start()
    yield fake
    await fake.close()
