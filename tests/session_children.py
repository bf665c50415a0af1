"""Nothing a test started outlives pytest, even when pytest is stopped (conftest.py's
pytest_configure / pytest_unconfigure use this).

* `TerminateAsInterrupt`: SIGTERM (what `timeout`, CI runners and `docker stop` send) raises
  KeyboardInterrupt in pytest, as Ctrl-C does: pytest tears its fixtures down (the replay
  exchange) and the tests' `finally` blocks run. Python's default SIGTERM ends the process
  without any of that. One stop only: a later SIGTERM does not break off the teardown.
* `stop_children`: at the end of the session, every child process still running (a bot or a
  freqtrade run the interrupted test was waiting for: they run in sessions of their own, so a
  Ctrl-C in the terminal never reaches them) gets SIGTERM, with its process group when it leads
  one, and SIGKILL after `grace` seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

GRACE_S = 10.0  # a dry-run bot's shutdown save takes seconds
POLL_S = 0.1


class TerminateAsInterrupt:
    """While installed, the first SIGTERM raises KeyboardInterrupt; later ones are ignored."""

    def __init__(self) -> None:
        self.received = False
        self._previous = None

    def _handle(self, signum: int, frame: object) -> None:
        if not self.received:
            self.received = True
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def running(pid: int) -> bool:
    """`pid` exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def running_children(parent: int) -> list[int]:
    """The children of `parent` that run (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields and int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


def _leads_group(pid: int) -> bool:
    with contextlib.suppress(ProcessLookupError):
        return os.getpgid(pid) == pid
    return False


def _signal(pid: int, signum: int, group: bool) -> None:
    """`signum` to `pid`'s process group (`group`: it leads one of its own), else to `pid`."""
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def stop_children(parent: int | None = None, grace: float = GRACE_S) -> list[int]:
    """SIGTERM every running child of `parent` (default: this process) and the process group
    it leads, SIGKILL what still runs `grace` seconds later; returns the children that were
    running."""
    children = running_children(os.getpid() if parent is None else parent)
    groups = {pid: _leads_group(pid) for pid in children}
    for pid, group in groups.items():
        _signal(pid, signal.SIGTERM, group)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(running(pid) for pid in children):
        time.sleep(POLL_S)
    for pid, group in groups.items():
        if group or running(pid):  # a group outlives its leader
            _signal(pid, signal.SIGKILL, group)
    return children
