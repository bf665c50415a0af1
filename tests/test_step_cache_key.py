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


def step_name(tmp_path: Path, mode: str) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SELF_LEARNING_XLA_CACHE": "off",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / mode), mode], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["step"]


def test_the_step_is_named_alike_whatever_was_traced_before_it(tmp_path):
    plain, predicted = step_name(tmp_path, "plain"), step_name(tmp_path, "predict_first")
    assert plain.startswith("__inference_step_block")
    assert plain == predicted
