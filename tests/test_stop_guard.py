"""self_learning.runtime.stop_guard: a bot's SIGTERM is never lost, even when its
KeyboardInterrupt is raised where Python ignores exceptions, and a second SIGTERM during the
shutdown save does not cut it short. Each case runs in a child process with real signals."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from self_learning.runtime.stop_guard import StopGuard

ROOT = Path(__file__).resolve().parents[1]

# A child that stops as freqtrade does (its SIGTERM handler raises KeyboardInterrupt) with the
# guard around that handler ("unguarded": without it). `loop` stands for freqtrade's
# Worker.run. It exits 3 when its loop ran on to the end (the stop was lost), 0 after a stop.
CHILD = """
import logging, signal, sys, time, weakref
from self_learning.runtime.stop_guard import StopGuard

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")

def term_handler(signum, frame):  # freqtrade's (commands/trade_commands.py)
    raise KeyboardInterrupt()

def loop(first_round):
    first_round()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(3)

class Model:
    pass

def stop_in_a_callback():  # Python prints "Exception ignored in ..." and the interrupt is gone
    model = Model()
    ref = weakref.ref(model, lambda dead: signal.raise_signal(signal.SIGTERM))
    del model

def stop():
    signal.raise_signal(signal.SIGTERM)

mode = sys.argv[1]
if mode == "default":  # a backtest: Python's default SIGTERM, nothing to guard
    print("installed", StopGuard.install(loop.__code__) is not None)
    sys.exit(0)
signal.signal(signal.SIGTERM, term_handler)
guard = None if mode == "unguarded" else StopGuard.install(loop.__code__, resend_after_s=0.2)
if mode == "starting":  # a stop lost before the loop, sent again (bound_freqtrade) meanwhile
    try:
        stop_in_a_callback()
        stop()
    except KeyboardInterrupt:
        print("stopped while starting")
        sys.exit(0)
try:
    loop(stop if mode == "again" else stop_in_a_callback)
except KeyboardInterrupt:
    print("stopping")
if mode == "again":  # a second SIGTERM while the shutdown save runs
    signal.raise_signal(signal.SIGTERM)
    time.sleep(0.5)  # the watcher looks twice meanwhile
    print("saved")
if guard is not None:
    guard.uninstall()
    print("freqtrade's handler back", signal.getsignal(signal.SIGTERM) is term_handler)
"""


def run_child(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          timeout=60, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT / "freqai_models"), "PATH": "/usr/bin"})


def test_a_stop_lost_in_a_callback_is_sent_again_while_the_loop_runs():
    """The interrupt raised in a weakref callback is lost (the unguarded control runs on);
    with the guard the watcher finds the main thread still in the loop, says where the
    interrupt was lost, and sends SIGTERM again: the loop stops."""
    lost = run_child("unguarded")
    assert "Exception ignored" in lost.stderr, lost.stderr
    assert lost.returncode == 3, lost.stdout + lost.stderr
    guarded = run_child("lost")
    assert "Exception ignored" in guarded.stderr, guarded.stderr
    assert guarded.returncode == 0, guarded.stdout + guarded.stderr
    warnings = [line for line in guarded.stdout.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, guarded.stdout
    assert "in <lambda> < " in warnings[0] and "Sending SIGTERM again (1)" in warnings[0]
    assert "stopping" in guarded.stdout
    assert "freqtrade's handler back True" in guarded.stdout


def test_a_second_sigterm_while_stopping_is_ignored_and_counted():
    """Outside the loop after the first stop (the shutdown save) a SIGTERM raises nothing;
    uninstall says how many were ignored and puts freqtrade's handler back; nothing is sent
    again once the loop was left."""
    run = run_child("again")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == ["stopping", "saved"], run.stdout
    assert "SIGTERM arrived 1 more time(s) while stopping" in run.stdout
    assert "WARNING" not in run.stdout
    assert lines[-1] == "freqtrade's handler back True"


def test_a_stop_lost_while_starting_does_not_make_the_next_one_ignored():
    """Before the loop no stop is under way: the SIGTERM after a lost one stops the start at
    once (not only once the loop runs and the watcher sends it again)."""
    run = run_child("starting")
    assert "Exception ignored" in run.stderr, run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines() == ["stopped while starting"], run.stdout


def test_nothing_is_guarded_without_a_python_handler_or_off_the_main_thread():
    assert run_child("default").stdout.strip() == "installed False"
    found = []
    thread = threading.Thread(target=lambda: found.append(StopGuard.install(run_child.__code__)))
    thread.start()
    thread.join()
    assert found == [None]
