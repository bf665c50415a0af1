"""Child processes that never outlive the script that started them, and Ctrl-C for that
script alone (Linux; elsewhere the parent-death signal is skipped).

* `bound_popen_options(parent_pid)`: Popen options putting the child in its own session (a
  Ctrl-C or a terminal hang-up reaches the parent only, which stops the children in order)
  and, in the child before exec, `prctl(PR_SET_PDEATHSIG, SIGTERM)`: the kernel sends SIGTERM
  to the child when its parent dies for any reason, SIGKILL included. Signals inherited as
  ignored (a script started as a background job ignores SIGINT) are reset to their default.
* `StopSignals`: SIGINT, SIGTERM and SIGHUP all raise `StopRequested` in the main thread
  (once; later ones are only noted); after SIGHUP the terminal is gone, so the output moves
  to /dev/null instead of failing with EIO.
* `TerminalForeground`: makes the script's own process group the terminal's foreground, so
  Ctrl-C reaches the script and not `make` above it (which would otherwise die of SIGINT and
  end `make dry-run` with status 130 whatever the script did).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

try:  # loaded before any fork: a preexec function must not dlopen
    _LIBC: Any = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    _LIBC.signal.restype = ctypes.c_void_p
    _LIBC.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
except (OSError, AttributeError):  # not Linux/glibc: no parent-death signal
    _LIBC = None


def set_parent_death_signal(signum: int) -> bool:
    """`prctl(PR_SET_PDEATHSIG, signum)` for this process; False where unavailable. The kernel
    may deliver it once per thread of a multi-threaded child: handle repeats."""
    return _LIBC is not None and _LIBC.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def _bind_to_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:  # runs in the child between fork and exec
        if _LIBC is None:
            return
        for signum in _RESET_SIGNALS:
            _LIBC.signal(int(signum), None)  # SIG_DFL (0): whatever the parent ignored
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    return preexec


def bound_popen_options(parent_pid: int | None = None) -> dict[str, Any]:
    """subprocess.Popen keyword arguments for a child bound to this process."""
    parent = os.getpid() if parent_pid is None else parent_pid
    return {"start_new_session": True, "preexec_fn": _bind_to_parent(parent)}


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived (SIGINT, SIGTERM or SIGHUP); `signame` says which."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


def say(*lines: str) -> None:
    """Print, never failing: after a hang-up the terminal is gone."""
    with contextlib.suppress(OSError, ValueError):
        print(*lines, sep="\n", flush=True)


def _terminal_fds() -> tuple[int, ...]:
    found = []
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                found.append(fd)
    return tuple(found)


def _detach(fds: tuple[int, ...]) -> None:
    """Point `fds` (the hung-up terminal) at /dev/null: later output and the final flush
    cannot fail."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in fds:
            os.dup2(devnull, fd)
        os.close(devnull)


class StopSignals:
    """`with StopSignals() as stops:` SIGINT/SIGTERM/SIGHUP raise StopRequested once; call
    `stops.stopping()` when the stop has begun so later signals only print a note."""

    def __init__(self, note: str = "Already stopping; please wait.") -> None:
        self.note = note
        self.received: str | None = None
        self._previous: dict[int, Any] = {}
        self._terminal: tuple[int, ...] = ()

    def _handle(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            _detach(self._terminal)
        if self.received is None:
            self.received = name
            raise StopRequested(name)
        say(f"{name} received. {self.note}")

    def stopping(self) -> None:
        """Later signals are only noted (the stop is already under way)."""
        self.received = self.received or "stop"

    def __enter__(self) -> StopSignals:
        self._terminal = _terminal_fds()
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


class TerminalForeground:
    """Own process group in the terminal's foreground while inside; restored on exit. Does
    nothing without a terminal on stdin or when the script is not in the foreground."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd
        self.previous: int | None = None

    def __enter__(self) -> TerminalForeground:
        try:
            fd = sys.stdin.fileno() if self.fd is None else self.fd
            if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
                return self
            previous = os.getpgrp()
            os.setpgid(0, 0)
        except (OSError, ValueError):
            return self
        try:
            self._give(fd, os.getpgrp())
            self.fd, self.previous = fd, previous
        except OSError:
            with contextlib.suppress(OSError):
                os.setpgid(0, previous)  # back into the foreground group we came from
        return self

    @staticmethod
    def _give(fd: int, pgrp: int) -> None:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may set it
        try:
            os.tcsetpgrp(fd, pgrp)
        finally:
            signal.signal(signal.SIGTTOU, old)

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is not None:
            with contextlib.suppress(OSError):
                self._give(self.fd, self.previous)
