"""`make demo`: backtest SelfLearningStrategy on the generated default data, fully offline.

Starts the local replay exchange on 127.0.0.1 (freqtrade loads markets even to backtest),
runs the stock `freqtrade backtesting` CLI with config.json + the replay overlay, prints
freqtrade's summary, then `freqtrade plot-dataframe` of the finished backtest (FreqUI-style
HTML charts of the predictions and scoreboard, from FreqAI's stored predictions: nothing is
retrained), the model's scoreboard and its out-of-sample IC against the yardstick, and one
PNG: price with the predicted band and the rolling IC over the demo period. The exchange is
stopped whatever happens.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from self_learning.config import label_period_candles
from self_learning.reports.backtest import last_scoreboard, load_rows, out_of_sample, per_window
from self_learning.reports.chart import render
from self_learning.telemetry.messages import scoreboard
from self_learning_offline.replay_exchange.overlay import write_replay_overlay
from self_learning_offline.replay_exchange.server import BackgroundServer, build_exchange

ROOT = Path(__file__).resolve().parents[1]
ROLLING_CANDLES = 288  # one day of 5m candles


def freqtrade(command: str, configs: list[Path], args: argparse.Namespace, *extra: str) -> int:
    cmd = [sys.executable, "-m", "freqtrade", command,
           *[a for c in configs for a in ("-c", str(c))],
           "--datadir", args.datadir, "--timerange", args.timerange,
           "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel", *extra]
    print("Running:", " ".join(cmd[2:]), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def report(config: dict, identifier: str, args: argparse.Namespace) -> None:
    """Scoreboard, out-of-sample IC against the yardstick, and the PNG."""
    pairs = config["exchange"]["pair_whitelist"]
    horizon = label_period_candles(config["freqai"])
    models = ROOT / config["user_data_dir"] / "models" / identifier
    rows = load_rows(models, Path(args.datadir), pairs, config["timeframe"], horizon)
    board = config["freqai"].get("self_learning", {}).get("scoreboard_candles", 288)
    print("\n" + scoreboard([last_scoreboard(p, r) for p, r in rows.items()], board))
    print(f"\nOut of sample, every predicted candle of {args.timerange} (do_predict = 1), "
          "Spearman IC / hit-rate of &-s_close against the realized target:")
    for pair, frame in rows.items():
        s = out_of_sample(frame)
        print(f"{pair}: model {s['ic']:.3f} / {s['hit_rate']:.3f}, yardstick -(close/SMA20 - 1) "
              f"{s['naive_ic']:.3f} / {s['naive_hit_rate']:.3f} ({int(s['rows'])} candles)")
    windows = per_window(rows)
    print("\nPer backtest window (day), IC of &-s_close against the realized target, mean over "
          "pairs:\nwindow        model   yardstick")
    for day, w in windows.iterrows():
        print(f"{day}   {w['model']:+.3f}   {w['naive']:+.3f}")
    if len(windows):
        print(f"mean         {windows['model'].mean():+.3f}   {windows['naive'].mean():+.3f}")
    png = render(rows, Path(args.png), ROLLING_CANDLES, horizon)
    print(f"\nChart (price with the predicted band, rolling IC against the yardstick): "
          f"{png.resolve()}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--timerange", default="20250108-20250114")
    parser.add_argument("--datadir", default=str(ROOT / "user_data" / "data" / "binance"))
    parser.add_argument("--identifier", default="self-learning-demo")
    parser.add_argument("--png", default=str(ROOT / "user_data" / "plot" / "demo.png"))
    args = parser.parse_args()

    config = json.loads((ROOT / "config.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        overlay = write_replay_overlay(Path(tmp) / "replay.json", args.port)
        # A fresh identifier folder per demo run: FreqAI would otherwise reuse stored
        # backtest predictions instead of training.
        identifier = f"{args.identifier}-{Path(tmp).name}"
        demo = Path(tmp) / "demo.json"
        demo.write_text(json.dumps({"freqai": {"identifier": identifier}}))
        configs = [ROOT / "config.json", overlay, demo]
        with BackgroundServer(build_exchange(Path(args.datadir)), port=args.port):
            code = freqtrade("backtesting", configs, args, "--export", "trades")
            if code != 0:
                return code
            code = freqtrade("plot-dataframe", configs, args)
    if code == 0:
        print(f"FreqUI-style charts of every pair: {ROOT / config['user_data_dir'] / 'plot'}")
    report(config, identifier, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
