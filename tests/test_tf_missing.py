"""Without TensorFlow the bot still starts, returns do_predict = 0 (no trade on a model that
cannot exist), and one loud warning naming the package goes to the log and to freqtrade's
notification channel (DataProvider.send_msg)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys
sys.modules["tensorflow"] = None   # as if it were not installed: `import tensorflow` fails
import json, logging, io
from pathlib import Path
import numpy as np, pandas as pd
from freqtrade.enums import RunMode
from freqtrade.data.dataprovider import DataProvider
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
sys.path.insert(0, str(Path(sys.argv[1]) / "freqai_models"))
from SelfLearningModel import SelfLearningModel

log = io.StringIO()
logging.basicConfig(level=logging.INFO, stream=log)
config = json.loads((Path(sys.argv[1]) / "config.json").read_text())
config.update(user_data_dir=Path(sys.argv[2]), runmode=RunMode.DRY_RUN)
model = SelfLearningModel(config=config)
model.data_provider = DataProvider(config, None)
model.live = True
dk = FreqaiDataKitchen(config, live=True, pair="BTC/USDT")
dk.training_features_list = ["%-a"]
n = 50
df = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC"),
                   "open": 1.0, "high": 1.1, "low": 0.9, "close": 1.0, "volume": 5.0,
                   "%-a": np.arange(n, dtype=float)})
handle = model.fit({"frame": df}, dk)
pred, do_predict = model.predict(df, dk)
print(json.dumps({"available": handle.available, "do_predict_sum": int(do_predict.sum()),
                  "rows": len(pred), "columns": list(pred.columns),
                  "messages": list(model.data_provider._msg_queue),
                  "tf_loaded": sys.modules.get("tensorflow") is not None,
                  "log": log.getvalue()}))
"""


def test_bot_starts_without_tensorflow_and_refuses_to_trade(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["available"] is False
    assert result["rows"] == 50 and result["do_predict_sum"] == 0
    assert "&-s_close" in result["columns"] and "&-novelty" in result["columns"]
    assert not result["tf_loaded"]
    warnings = [m for m in result["messages"] if "TensorFlow is not installed" in m]
    assert len(warnings) == 1 and "pip install tensorflow-cpu" in warnings[0]
    assert result["log"].count("TensorFlow is not installed") >= 1
