"""The per-candle step gets the same XLA cache entry in every process of one configuration.

XLA's persistent cache keys a program by its function's name, which carries TensorFlow's
process-wide count of functions traced before it. The runtime traces the step when it makes a
pair's learner, before anything that depends on the data: two processes that trace different
programs before their first step (here: one predicts before its first training) name the step
alike, so the second loads the first one's compiled program instead of compiling it again."""

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SCRIPT = """
import json, sys
from pathlib import Path
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config
from self_learning.learning import shared_program
from self_learning.runtime.lifecycle import SelfLearningRuntime

deterministic()
candles = planted_candles(1300, seed=5)
rt = SelfLearningRuntime(small_config(), Path(sys.argv[1]), TIMEFRAME_S,
                         background_saves=False, store_is_live=False)
if sys.argv[2] == "predict_first":
    rt.predict("BTC/USDT", FEATURES, candles.rows(slice(0, 1000)), learn=False)
rt.fit("BTC/USDT", FEATURES, candles.rows(slice(0, 1200)))
rt.predict("BTC/USDT", FEATURES, candles.rows(slice(0, 1250)), learn=True)
names = {key[1][0]: concrete.name.decode() for key, (concrete, _) in
         shared_program._PROGRAMS.items() if key[1][0] == "step"}
print(json.dumps(names))
"""


def step_names(tmp_path: Path, *modes: str) -> list[str]:
    """The step's function name in one process per mode. The processes share nothing (no XLA
    cache, a store each), so they run side by side: the two take the time of one on two
    cores."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SELF_LEARNING_XLA_CACHE": "off",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / mode), mode],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for mode in modes]
    names = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            names.append(json.loads(out.strip().splitlines()[-1])["step"])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return names


def test_the_step_is_named_alike_whatever_was_traced_before_it(tmp_path):
    plain, predicted = step_names(tmp_path, "plain", "predict_first")
    assert plain.startswith("__inference_step_block")
    assert plain == predicted
