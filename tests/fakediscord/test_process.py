"""The fixture that runs `python -m bot run` against the emulator starts and stops it."""

from tests.fakediscord.process import BOT_TOKEN, BotProcess


async def test_the_real_entry_point_logs_in_and_stops_cleanly(discord_server, tmp_path):
    discord_server.create_guild()
    bot = BotProcess(discord_server, tmp_path)
    await bot.start()
    try:
        assert BOT_TOKEN in discord_server.tokens_seen
        assert any(e.kind == "identify" for e in discord_server.events)
    finally:
        assert await bot.stop() == 0
    assert "shutting down" in bot.log()


async def test_a_start_up_error_fails_with_the_bots_output(discord_server, tmp_path):
    bot = BotProcess(
        discord_server, tmp_path, faces={"cascade": "missing.xml"}, worker={"embedded": "yes"}
    )
    try:
        await bot.start(timeout=30)
    except AssertionError as error:
        assert "worker.embedded" in str(error)
    else:
        raise AssertionError("a broken config must not start")
