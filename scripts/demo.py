"""`make demo`: backtest SelfLearningStrategy on the generated default data, fully offline.

Starts the local replay exchange on 127.0.0.1 (freqtrade loads markets even to backtest),
runs the stock `freqtrade backtesting` CLI with config.json + config.replay.json, prints
freqtrade's summary, and stops the exchange whatever happens.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from self_learning.replay_exchange.server import BackgroundServer, build_exchange

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--timerange", default="20250108-20250114")
    parser.add_argument("--datadir", default=str(ROOT / "user_data" / "data" / "binance"))
    parser.add_argument("--identifier", default="self-learning-demo")
    args = parser.parse_args()

    overlay = json.loads((ROOT / "config.replay.json").read_text())
    overlay_text = json.dumps(overlay).replace("127.0.0.1:8701", f"127.0.0.1:{args.port}")
    with tempfile.TemporaryDirectory() as tmp:
        overlay_path = Path(tmp) / "replay.json"
        overlay_path.write_text(overlay_text)
        demo_path = Path(tmp) / "demo.json"
        # A fresh identifier folder per demo run: FreqAI would otherwise reuse stored
        # backtest predictions instead of training.
        identifier = f"{args.identifier}-{Path(tmp).name}"
        demo_path.write_text(json.dumps({"freqai": {"identifier": identifier}}))
        server = BackgroundServer(build_exchange(Path(args.datadir)), port=args.port)
        with server:
            cmd = [sys.executable, "-m", "freqtrade", "backtesting",
                   "-c", str(ROOT / "config.json"), "-c", str(overlay_path), "-c", str(demo_path),
                   "--datadir", args.datadir, "--timerange", args.timerange,
                   "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
                   "--export", "none"]
            print("Running:", " ".join(cmd[2:]), flush=True)
            return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
