"""A test that makes a SelfLearningModel-style XLA cache setting in this process
(configure_xla_cache writes TF_XLA_FLAGS into os.environ) leaves no TF_XLA_FLAGS to the next
test: otherwise every later child process (freqtrade runs, a crash drill's workers, a process
told SELF_LEARNING_XLA_CACHE=off) would use that cache folder, whatever it was told, and the
suite's results would depend on the order of its tests (conftest.py:
xla_flags_of_the_test_stay_in_it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

TESTS = Path(__file__).parent

INNER = """
import os

from self_learning.runtime.xla_cache import FLAG, configure_xla_cache


def test_a_configures_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SELF_LEARNING_XLA_CACHE", str(tmp_path))
    folder = configure_xla_cache()
    assert folder is not None and FLAG in os.environ["TF_XLA_FLAGS"]


def test_b_inherits_nothing():
    assert "TF_XLA_FLAGS" not in os.environ
"""


def test_a_tests_xla_cache_setting_does_not_reach_the_next_test(tmp_path):
    """pytest (this folder's conftest.py as a plugin) on two tests in order: the first
    configures the XLA cache in-process, the second sees no TF_XLA_FLAGS."""
    (tmp_path / "test_inner.py").write_text(INNER)
    paths = [str(TESTS), str(ROOT / "freqai_models"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
         "-p", "no:randomly", "--basetemp", str(tmp_path / "tmp"), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout, done.stdout[-3000:]
