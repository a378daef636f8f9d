"""Shared fixtures. Tests may connect only to 127.0.0.1 (and ::1); anything else fails."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise RuntimeError(f"tests may only connect to 127.0.0.1; tried {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def shared_data() -> Path:
    """../shared/data when present; tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data (benchmark data), absent on this machine")
    return SHARED_DATA


@pytest.fixture
async def discord_server():
    """A loopback Discord (tests/fakediscord) on a free port of 127.0.0.1."""
    from tests.fakediscord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.close()
