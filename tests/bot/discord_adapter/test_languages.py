"""konomi in the reader's language, through the real discord.py client on the emulator:
a member whose Discord speaks Japanese reads Japanese, others English; Japanese
servers are welcomed in Japanese; the synced commands carry Japanese names."""

import re

from tests.bot.discord_adapter.cogs.test_ranking import train_guild_model
from tests.fakediscord import Attachment
from tests.images import encode, lfw_crops

KANA = re.compile(r"[\u3040-\u30ff]")  # hiragana and katakana: Japanese, not Chinese


def japanese(text: str) -> bool:
    """Japanese sentences, not English ones with a Japanese word in them."""
    english_words = re.findall(r"\b(?:the|your|you|and|is|of|to)\b", text)
    return bool(KANA.search(text)) and not english_words


async def answer(world, interaction, timeout: float = 60) -> str:
    await world.fake.wait_for(lambda: interaction.answer() and interaction.answer().text, timeout)
    return interaction.answer().text


def localized(commands: list[dict]) -> tuple[int, list[str]]:
    """How many names and descriptions were checked, and those without Japanese."""
    checked, missing = 0, []

    def check(item: dict, path: str, description: bool = True) -> None:
        nonlocal checked
        for field in ("name", "description") if description else ("name",):
            checked += 1
            if not (item.get(f"{field}_localizations") or {}).get("ja"):
                missing.append(f"{path} {field}")
        for option in item.get("options", []):
            check(option, f"{path} {option['name']}")
        for choice in item.get("choices", []):
            check(choice, f"{path}={choice['value']}", description=False)

    for command in commands:
        check(command, command["name"], description=command.get("type", 1) == 1)
    return checked, missing


async def test_a_member_whose_discord_speaks_japanese_reads_japanese(world):
    fake = world.fake
    checked, missing = localized(fake.commands_for(world.guild))
    print(f"synced commands: {checked} names and descriptions, {len(missing)} without Japanese")
    assert checked > 80 and not missing, missing
    names = {c["name"]: c["name_localizations"]["ja"] for c in fake.commands_for(world.guild)}
    assert names["vote"] == "投票" and names["Rank these images"] == "この画像をランク付け"

    hanako = world.guild.add_member("hanako")
    hanako.user.locale = "ja"
    said = {
        "help": await answer(world, await hanako.invoke("help")),
        "a refusal": await answer(world, await hanako.invoke("retrain")),
        "vote": await answer(world, await hanako.invoke("vote")),
    }
    pair = await world.pair_for(hanako)
    said["the pair"] = pair.text
    await hanako.react(pair, "🅰️")
    said["the next pair"] = (await world.pair_for(hanako, 2)).text

    await train_guild_model(world)
    faces = {f"顔{n}.png": encode(crop) for n, crop in enumerate(lfw_crops()[20:22])}
    options = {
        f"image{n}": Attachment(name, data) for n, (name, data) in enumerate(faces.items(), 1)
    }
    options["image3"] = Attachment("notes.png", b"this is text, not a picture")
    ranked = await hanako.invoke("rank", **options)
    said["rank"] = await answer(world, ranked)
    for what, text in said.items():
        print(f"--- {what}:\n{text}")
    assert {what for what, text in said.items() if not japanese(text)} == set()
    assert "あと 10 件投票" in said["a refusal"] and "/投票" in said["help"]
    assert "どちらの顔" in said["the pair"] and "これまでに 1 票" in said["the next pair"]
    assert "でランク付けしました" in said["rank"] and "**顔0.png**" in said["rank"]
    assert "**notes.png**: 対応している画像ではありません" in said["rank"]
    assert ranked.answer().images()  # the sheet, its Japanese file names drawn

    english = await answer(world, await world.alice.invoke("help"))
    world.alice.user.locale = "fr"  # no French catalogue: English
    french = await answer(world, await world.alice.invoke("retrain"))
    assert english.startswith("**konomi** learns") and "You have 0 votes here" in french


async def test_a_japanese_server_is_welcomed_in_japanese(world):
    fake = world.fake
    guild = fake.create_guild("日本のサーバー")
    guild.preferred_locale = "ja"
    await fake.add_bot(guild)

    def welcome():
        return [m for m in fake.bot_messages(guild.default_channel) if m.embeds]

    [message] = await fake.wait_for(welcome, 30)
    [embed] = message.embeds
    print(message.text)
    assert embed["title"] == "konomi を追加していただきありがとうございます"
    assert japanese(embed["description"]) and all(japanese(f["value"]) for f in embed["fields"])
