"""Every word on Discord comes from the catalogue, and every language has every entry:
a missing translation, a placeholder one language lacks, a key the code names that no
catalogue has, or a literal sent to Discord past the catalogue fails here."""

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import COMMAND_LINE, FALLBACK, LANGUAGES, FileProblems, catalogue, language_of, msg, t
from model.images import ImageTooLarge

ROOT = Path(__file__).resolve().parents[2]
SPOKEN = [
    *sorted((ROOT / "bot" / "discord_adapter").rglob("*.py")),
    *(ROOT / "bot" / "services").glob("*.py"),
]

# Calls whose text reaches a person on Discord, and the keywords that carry it.
SURFACES = {
    "send",
    "send_message",
    "edit_message",
    "edit_original_response",
    "Embed",
    "add_field",
    "set_footer",
    "Button",
    "Choice",
    "CheckFailure",
}
TEXT_KEYWORDS = {"content", "title", "description", "name", "value", "text", "label"}
KEY = re.compile(r"[a-z_]+(\.[A-Za-z_ ]+)+")  # "vote.waiting", "loops.guild purge"


def placeholders(entry) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {field for text in texts for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_language_has_every_entry_with_the_same_placeholders():
    english = catalogue(FALLBACK)
    checked = 0
    for language in LANGUAGES:
        entries = catalogue(language)
        missing = sorted(set(english) - set(entries))
        assert not missing, f"{language}.toml lacks {missing}"
        for key, entry in english.items():
            assert placeholders(entries[key]) == placeholders(entry), (language, key)
            checked += 1
    print(f"{len(english)} entries in {len(LANGUAGES)} languages, {checked} checked")


def test_the_command_lines_own_advice_replaces_only_english_entries():
    english, command_line = catalogue(FALLBACK), catalogue(COMMAND_LINE)
    assert set(command_line) <= set(english)
    for key, entry in command_line.items():
        assert placeholders(entry) == placeholders(english[key]), key
        assert "`/" not in str(entry), key  # no slash command on the command line
    assert t(COMMAND_LINE, "errors.every_pair_seen") == t("en", "errors.every_pair_seen")
    assert "python -m bot train" in t(COMMAND_LINE, "errors.no_model_yet")


def keys_named_in_code() -> list[tuple[str, str]]:
    """(file:line, key pattern) for every catalogue key the code passes to t(), msg(),
    Text() or a refusal; an f-string key becomes a pattern."""
    found = []
    for path in ROOT.joinpath("bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            argument = node.args[1] if name == "t" and len(node.args) > 1 else node.args[0]
            if name not in {"t", "msg"} and not (
                name.endswith(("Error", "Refused", "Seen", "Votes", "Model", "Pair", "Small"))
                or name in {"NothingToRank", "NotOptedIn", "TooSoon", "GuildModelOutdated"}
            ):
                continue
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                parts = [argument.value]
            elif isinstance(argument, ast.JoinedStr):
                parts = [p.value if isinstance(p, ast.Constant) else None for p in argument.values]
            else:
                continue
            if KEY.fullmatch("".join(part or "x" for part in parts)):  # not a Python message
                pattern = "".join(re.escape(p) if p else r"[\w ]+" for p in parts)
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", pattern))
    return found


def test_every_key_the_code_names_is_in_the_catalogue():
    english = catalogue(FALLBACK)
    named = keys_named_in_code()
    unknown = [
        (where, key) for where, key in named if not any(re.fullmatch(key, k) for k in english)
    ]
    print(f"{len(named)} keys named in the code")
    assert len(named) > 120 and not unknown


def literals_sent_past_the_catalogue(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in SURFACES:
                continue
            keywords = {"name"} if name == "Choice" else TEXT_KEYWORDS  # a choice's value is data
            values = [*node.args, *(k.value for k in node.keywords if k.arg in keywords)]
            for value in values:
                parts = [value] if isinstance(value, ast.Constant) else getattr(value, "values", [])
                words = " ".join(
                    p.value
                    for p in parts
                    if isinstance(p, ast.Constant) and isinstance(p.value, str)
                )
                if re.search(r"[A-Za-z]{3,}", words):
                    found.append(f"{path.name}:{node.lineno}: {words!r}")
    return found


def test_no_words_reach_discord_past_the_catalogue():
    found = literals_sent_past_the_catalogue(SPOKEN)
    print(f"{len(SPOKEN)} files scanned; literals sent past the catalogue: {len(found)}")
    assert not found, "\n".join(found)


def test_the_scan_catches_a_literal_reply(tmp_path):
    bypass = tmp_path / "bypass.py"
    bypass.write_text(
        "async def reply(interaction, count):\n"
        "    await interaction.followup.send(f'Your {count} votes', ephemeral=True)\n"
        "    await interaction.followup.send(t(interaction.locale, 'stats.votes'))\n"
        "    discord.Embed(title='Your konomi', description=text)\n"
    )
    found = sorted(literals_sent_past_the_catalogue([bypass]))
    assert [line.split(": ")[0] for line in found] == ["bypass.py:2", "bypass.py:4"]


@pytest.mark.parametrize(
    ("locale", "language"),
    [("ja", "ja"), ("en-US", "en"), ("en-GB", "en"), ("fr", "en"), ("zh-TW", "en"), (None, "en")],
)
def test_other_locales_fall_back_to_english(locale, language):
    assert language_of(locale) == language


def test_numbers_choose_their_form_and_files_their_reasons():
    assert t("en", "progress.votes", count=1) == "1 vote so far"
    assert t("en", "progress.votes", count=7) == "7 votes so far"
    assert t("ja", "progress.votes", count=7) == "これまでに 7 票"
    problems = FileProblems((("big.png", ImageTooLarge("the image is 90000 px wide")),))
    assert problems.render("en") == "**big.png**: the image is 90000 px wide"
    assert (
        problems.render("ja")
        == "**big.png**: 画像が大きすぎます(konomi が扱える大きさを超えています)"
    )
    assert (
        str(msg("errors.unknown_face", face_id=3)) == "There is no face `3` in this server's pool."
    )


def test_the_catalogues_ship_in_the_package():
    """A wheel (the Docker image installs one) carries only the package data pyproject
    names: without it, an installed konomi could not say a word."""
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as file:
        shipped = tomllib.load(file)["tool"]["setuptools"]["package-data"]["bot"]
    catalogues = sorted((ROOT / "bot" / "i18n").glob("*.toml"))
    assert "i18n/*.toml" in shipped and len(catalogues) == len(LANGUAGES) + 1  # and cli
