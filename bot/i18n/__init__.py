"""Every word konomi says on Discord, in the reader's language: one catalogue per
language (`bot/i18n/<language>.toml`, English the fallback), chosen by the
interaction's locale, or the server's preferred locale for what konomi posts unasked.

An entry is a `str.format` template; one that depends on a number is a table with
`one` and `other`, chosen by the field `count`. Services say what to tell people as
`Text` (a key and its fields) and the Discord side renders it for the reader; the
command line renders the same refusals in English, with its own advice
(`COMMAND_LINE`).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

FALLBACK = "en"
LANGUAGES = ("en", "ja")  # a catalogue file for each; tests/bot/test_i18n.py checks them
# The command line reads English, with its own advice where Discord's would mislead
# (cli.toml: only the entries that differ).
COMMAND_LINE = "cli"


@cache
def catalogue(language: str) -> dict[str, Any]:
    """The entries of one language, flattened to dotted keys ("vote.waiting")."""
    with (Path(__file__).parent / f"{language}.toml").open("rb") as file:
        return _flatten(tomllib.load(file))


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and set(value) != {"one", "other"}:
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def language_of(locale: object) -> str:
    """The catalogue for a Discord locale ("ja", "en-US", a discord.Locale, None)."""
    value = str(getattr(locale, "value", locale) or "")
    base = value.split("-")[0].lower()
    return base if base in LANGUAGES else FALLBACK


def t(locale: object, key: str, /, **fields: Any) -> str:
    """The entry `key` in the reader's language (English when it has none), filled in."""
    language = language_of(locale)
    entry = catalogue(COMMAND_LINE).get(key) if locale == COMMAND_LINE else None
    if entry is None:
        entry = catalogue(language).get(key)
    if entry is None:
        entry = catalogue(FALLBACK)[key]  # a KeyError here is a bug the tests catch
    if isinstance(entry, dict):
        entry = entry["one" if fields.get("count") == 1 else "other"]
    shown = {
        name: value.render(locale) if hasattr(value, "render") else value
        for name, value in fields.items()
    }
    return entry.format(**shown)


@dataclass(frozen=True)
class Text:
    """Words to show someone, not yet in their language: a catalogue key and its fields
    (which may be Text themselves)."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)

    def render(self, locale: object) -> str:
        return t(locale, self.key, **self.fields)

    def __str__(self) -> str:
        return self.render(FALLBACK)

    def to_json(self) -> str:
        """Kept for later (a refused job's reason, told when its notice is sent): the
        key and the fields, nested Text included; fields are numbers or strings."""
        return json.dumps(_plain(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Text:
        return _text(json.loads(data))


def _plain(value: Any) -> Any:
    if isinstance(value, Text):
        return {"key": value.key, "fields": {k: _plain(v) for k, v in value.fields.items()}}
    return value


def _text(value: Any) -> Any:
    if isinstance(value, dict):
        return Text(value["key"], {k: _text(v) for k, v in value["fields"].items()})
    return value


def msg(key: str, /, **fields: Any) -> Text:
    """`Text(key, fields)`, written as a call: `msg("progress.votes", count=3)`."""
    return Text(key, fields)


def reason(why: object, locale: object) -> str:
    """Why a file was not used, for the reader: a Text rendered; an image error by its
    kind (`file_problems.<kind>`) in languages that have it, else its own English words."""
    if isinstance(why, Text):
        return why.render(locale)
    language = language_of(locale)
    if language != FALLBACK and isinstance(why, Exception):
        for kind in type(why).__mro__:
            entry = catalogue(language).get(f"file_problems.{kind.__name__}")
            if entry is not None:
                return entry
    return str(why)


@dataclass(frozen=True)
class FileProblems:
    """Files that were not used, one line each ("**name**: why"), rendered on demand."""

    items: tuple[tuple[str, object], ...]

    def render(self, locale: object) -> str:
        return "\n".join(
            t(locale, "files.line", name=name, reason=reason(why, locale))
            for name, why in self.items
        )
