"""A loopback Discord emulator for testing the real discord.py client end to end."""

from tests.fakediscord.server import FakeDiscord, Rules
from tests.fakediscord.state import Attachment, Channel, Guild, Interaction, Member, Message

__all__ = [
    "Attachment",
    "Channel",
    "FakeDiscord",
    "Guild",
    "Interaction",
    "Member",
    "Message",
    "Rules",
]
