"""The replay exchange as a subprocess on 127.0.0.1: started, waited for, stopped.

What tests, benchmarks and scripts share to run `python -m self_learning_offline.replay_exchange`:
`start_replay_exchange` first checks that the port is free (PortInUseError naming the process
that holds it: a replay exchange left running is never silently used instead), returns once
the exchange answers `/api/v3/ping` (or raises ReplayExchangeError with its log), and with
`bound` the exchange ends with the process that started it, even on SIGKILL
(`self_learning_offline.children`). `stop_replay_exchange` sends SIGTERM and kills after a
grace period.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from self_learning_offline.children import bound_popen_options
from self_learning_offline.replay_exchange.overlay import replay_url
from self_learning_offline.replay_exchange.ports import PortInUseError, ensure_free

POLL_S = 0.2
WHAT = "the replay exchange"

__all__ = ["PortInUseError", "ReplayExchangeError", "start_replay_exchange",
           "stop_replay_exchange"]


class ReplayExchangeError(RuntimeError):
    """The replay exchange exited or did not answer in time (the message holds its log)."""


def start_replay_exchange(datadir: Path, port: int, log_path: Path, *, timeout: float = 30.0,
                          realtime: bool = False, history: int | None = None,
                          interval: str | None = None, started_ms: int | None = None,
                          cwd: Path | None = None, bound: bool = False) -> subprocess.Popen:
    """Serve `datadir` on 127.0.0.1:`port` (`realtime`: `--history` candles in the past, one
    new candle per `interval` of wall clock, mapped from `started_ms`, default now), logging to
    `log_path`; returns when it answers.
    `bound`: own session, and SIGTERM from the kernel when this process dies."""
    ensure_free(port, WHAT)
    cmd = [sys.executable, "-m", "self_learning_offline.replay_exchange", "--datadir", str(datadir),
           "--port", str(port)]
    if realtime:
        cmd += ["--realtime", "--history", str(history), "--ticker-interval", str(interval)]
        if started_ms is not None:
            cmd += ["--started-ms", str(started_ms)]
    options = bound_popen_options() if bound else {}
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, **options)
    try:
        _wait_until_it_answers(proc, port, log_path, timeout)
    except BaseException:  # a failed start or a stop request while waiting: nothing left over
        stop_replay_exchange(proc)
        raise
    return proc


def _wait_until_it_answers(proc: subprocess.Popen, port: int, log_path: Path,
                           timeout: float) -> None:
    url = f"{replay_url(port)}/api/v3/ping"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ReplayExchangeError(
                f"replay exchange exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(POLL_S)
    raise ReplayExchangeError(f"replay exchange did not answer at {url} within {timeout:.0f} s:"
                              f"\n{log_path.read_text()}")


def stop_replay_exchange(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
