"""The replay exchange as a subprocess on 127.0.0.1: started, waited for, stopped.

What tests, benchmarks and scripts share to run `python -m self_learning_offline.replay_exchange`:
`start_replay_exchange` returns once the exchange answers `/api/v3/ping` (or raises
ReplayExchangeError with its log), `stop_replay_exchange` sends SIGTERM and kills after a grace
period.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from self_learning_offline.replay_exchange.overlay import replay_url

POLL_S = 0.2


class ReplayExchangeError(RuntimeError):
    """The replay exchange exited or did not answer in time (the message holds its log)."""


def start_replay_exchange(datadir: Path, port: int, log_path: Path, *, timeout: float = 30.0,
                          realtime: bool = False, history: int | None = None,
                          interval: str | None = None, cwd: Path | None = None
                          ) -> subprocess.Popen:
    """Serve `datadir` on 127.0.0.1:`port` (`realtime`: `--history` candles in the past, one
    new candle per `interval` of wall clock), logging to `log_path`; returns when it answers."""
    cmd = [sys.executable, "-m", "self_learning_offline.replay_exchange", "--datadir", str(datadir),
           "--port", str(port)]
    if realtime:
        cmd += ["--realtime", "--history", str(history), "--ticker-interval", str(interval)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    url = f"{replay_url(port)}/api/v3/ping"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ReplayExchangeError(
                f"replay exchange exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return proc
        except OSError:
            time.sleep(POLL_S)
    stop_replay_exchange(proc)
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
