from pathlib import Path

from bot.discord_adapter.invite import INVITE_PERMISSIONS, invite_url


def test_the_readme_invite_asks_for_what_the_code_needs():
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    assert f"permissions={INVITE_PERMISSIONS.value}" in readme
    assert invite_url(42) == (
        "https://discord.com/oauth2/authorize?client_id=42&scope=bot+applications.commands"
        f"&permissions={INVITE_PERMISSIONS.value}"
    )
    assert not INVITE_PERMISSIONS.administrator and not INVITE_PERMISSIONS.manage_messages
