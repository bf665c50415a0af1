"""Stopping pytest stops what its tests started (session_children, conftest.py): SIGTERM of
pytest (a CI runner's cancel, `timeout`, `docker stop`) and Ctrl-C alike leave no replay
exchange, bot or freqtrade run behind.

Each scenario runs pytest on a small test (with this folder's conftest.py as a plugin) that
starts the session's replay exchange, a realtime exchange (live_support) and a process in a
session of its own that it never stops (as a bot that a test had not stopped yet: a Ctrl-C in
the terminal does not reach it); once all three run, pytest gets the signal. (A freqtrade run
whose output pytest reads ends at its next line with the closed pipe; a bot logs to its own
file.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from session_children import running, running_children

TESTS = Path(__file__).parent
CHILDREN = 3  # two exchanges, the sleeper
START_TIMEOUT_S = 120
GONE_S = 30  # session_children.GRACE_S and some
INTERRUPTED = 2  # pytest's exit code after KeyboardInterrupt

INNER = """
import subprocess
import sys
import time
from pathlib import Path


def test_starts_children_and_waits(replay_exchange, realtime_exchange):
    # a child in a session of its own, as LiveBot and run_freqtrade start freqtrade
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                     start_new_session=True)
    Path({started!r}).write_text("")
    time.sleep(600)
"""


def start_session(folder: Path) -> tuple[subprocess.Popen, Path]:
    """pytest on INNER in `folder`, in a session of its own (a terminal's Ctrl-C reaches its
    process group); returns the process and the file its test writes once it has started."""
    folder.mkdir()
    started = folder / "started"
    (folder / "test_inner.py").write_text(INNER.format(started=str(started)))
    paths = [str(TESTS), str(ROOT / "freqai_models"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with (folder / "pytest.out").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
             "--basetemp", str(folder / "tmp"), str(folder / "test_inner.py")],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, started


def children_once_started(proc: subprocess.Popen, started: Path, output: Path) -> list[int]:
    """pytest's running children once its test has started all CHILDREN."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        children = running_children(proc.pid)
        if started.exists() and len(children) == CHILDREN:
            return children
        assert proc.poll() is None, output.read_text()[-3000:]
        time.sleep(0.1)
    pytest.fail(f"no {CHILDREN} children within {START_TIMEOUT_S} s: "
                f"{running_children(proc.pid)}\n{output.read_text()[-3000:]}")


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(running(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if running(pid)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_pytest_leaves_no_child_running(tmp_path, sig):
    """SIGTERM to pytest, or Ctrl-C (SIGINT to its process group), while its test runs: pytest
    exits as interrupted (2) and every child it had (the two exchanges, the process in a session
    of its own) is gone within seconds."""
    proc, started = start_session(tmp_path / "session")
    output = tmp_path / "session" / "pytest.out"
    children: list[int] = []
    try:
        children = children_once_started(proc, started, output)
        if sig == signal.SIGINT:  # Ctrl-C: the terminal signals the foreground group
            os.killpg(proc.pid, sig)
        else:  # `kill PID`
            proc.send_signal(sig)
        code = proc.wait(timeout=GONE_S + 30)
        left = wait_gone(children, GONE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running after pytest's {sig.name}: {left} (exit {code})"
    assert code == INTERRUPTED, output.read_text()[-3000:]
