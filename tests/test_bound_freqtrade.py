"""self_learning_offline.bound_freqtrade: a stop request is never lost, even when its
KeyboardInterrupt is raised where Python ignores exceptions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A child that stops as freqtrade does (its SIGTERM handler raises KeyboardInterrupt), whose
# stop arrives inside a weakref callback: Python prints "Exception ignored in ..." and the
# interrupt is gone. It exits 0 if the stop reaches its main loop, 3 if it runs on.
CHILD = """
import os, signal, sys, time, weakref
from self_learning_offline import bound_freqtrade

if sys.argv[1] == "bound":  # what the bot's process sets up before freqtrade starts
    bound_freqtrade.stop_once(os.getppid(), 60.0)

def term_handler(signum, frame):
    raise KeyboardInterrupt()

signal.signal(signal.SIGTERM, term_handler)

class Model:
    pass

model = Model()
ref = weakref.ref(model, lambda dead: signal.raise_signal(signal.SIGTERM))
try:
    del model  # the callback runs here: the stop's KeyboardInterrupt is swallowed
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(3)
except KeyboardInterrupt:
    sys.exit(0)
"""


def run_child(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          timeout=60, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT / "freqai_models"), "PATH": "/usr/bin"})


def test_a_stop_swallowed_in_a_callback_is_sent_again():
    """In the bot's process (stop_once) the swallowed stop reaches the main loop; without it
    the child runs on (the control shows the stop really is swallowed there)."""
    redelivered = run_child("bound")
    assert "Exception ignored" in redelivered.stderr
    assert redelivered.returncode == 0, redelivered.stderr
    swallowed = run_child("plain")
    assert "Exception ignored" in swallowed.stderr
    assert swallowed.returncode == 3, swallowed.stderr
