"""Is a TCP port on 127.0.0.1 free, and if not, who holds it.

Checked before the replay exchange (and the dry-run's API server) start, so a replay exchange
left running from an earlier session is named instead of a raw `Address already in use`
traceback, or, worse, a bot silently trading against that other exchange. The holder is found
through /proc/net/tcp{,6} (the listening socket's inode) and /proc/*/fd (the process owning
it); a process of another user, or a system without /proc, is "another process".
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

HOST = "127.0.0.1"
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column
PROC = Path("/proc")


class PortInUseError(OSError):
    """The port is held by another process (the message says which, and what to do)."""

    def __init__(self, port: int, what: str, holder: str) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"Cannot start {what}: port {port} on {HOST} is already in use by {holder}. Stop "
            f"it (e.g. `kill PID`) or choose another port.")
        self.port = port
        self.holder = holder

    def __str__(self) -> str:
        return self.strerror


def is_free(port: int, host: str = HOST) -> bool:
    """True when a server could bind `host:port` now (the same SO_REUSEADDR as http.server)."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def listening_inodes(port: int, proc: Path = PROC) -> set[str]:
    """Inodes of the sockets listening on `port` (any address, IPv4 and IPv6)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN \
                    and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _command(pid: str, proc: Path) -> str:
    try:
        raw = (proc / pid / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def port_holder(port: int, proc: Path = PROC) -> str:
    """'PID 1234 (python -m ...)' for the process listening on `port`, else 'another process'."""
    inodes = {f"socket:[{inode}]" for inode in listening_inodes(port, proc)}
    if inodes:
        for pid_dir in proc.iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                fds = list((pid_dir / "fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target in inodes:
                    command = _command(pid_dir.name, proc)
                    return f"PID {pid_dir.name}" + (f" ({command})" if command else "")
    return "another process"


def ensure_free(port: int, what: str, host: str = HOST) -> None:
    """Raise PortInUseError naming the holder when `host:port` cannot be bound."""
    if not is_free(port, host):
        raise PortInUseError(port, what, port_holder(port))
