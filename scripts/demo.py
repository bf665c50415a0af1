"""`make demo`: backtest SelfLearningStrategy on the generated default data, fully offline.

Starts the local replay exchange on 127.0.0.1 (freqtrade loads markets even to backtest),
runs the stock `freqtrade backtesting` CLI with config.json (the shipped 1h setup) + the
replay overlay over three weeks of generated 1h candles (`make data`), prints
freqtrade's summary, then `freqtrade plot-dataframe` of the finished backtest (FreqUI-style
HTML charts of the predictions and scoreboard, from FreqAI's stored predictions: nothing is
retrained), the model's scoreboard and its out-of-sample IC against the yardstick, and one
PNG: price with the predicted band and the rolling IC over the demo period, and why it traded
or not (how many candles passed each entry filter, and what the entry signals realized against
what they predicted). The exchange is stopped whatever happens;
Ctrl-C stops freqtrade and the exchange and ends without an error. Everything it writes is
listed in .demo/written.txt; `make clean-demo` (`--clean`) removes exactly that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from demo_files import DemoFiles
from freqtrade.exchange import timeframe_to_seconds

from self_learning.config import label_period_candles
from self_learning.reports.backtest import (
    headline,
    last_scoreboard,
    load_rows,
    out_of_sample,
    per_window,
)
from self_learning.reports.chart import render
from self_learning.reports.entries import (
    describe_funnel,
    describe_outcome,
    entry_funnel,
    entry_outcome,
    rules_from_hyperopt,
    with_fee_rule,
)
from self_learning.strategy.strategy_columns import (
    EntryRules,
    filters_off,
    z_candles,
)
from self_learning.telemetry.messages import scoreboard
from self_learning_offline.replay_exchange.overlay import write_replay_overlay
from self_learning_offline.replay_exchange.ports import PortInUseError
from self_learning_offline.replay_exchange.server import BackgroundServer, build_exchange

ROOT = Path(__file__).resolve().parents[1]
# The chart's rolling IC: over a day of candles, at least 48 (5m: 288, 1h: 48 = two days).
ROLLING_MIN_CANDLES = 48
DEFAULT_DATADIR = ROOT / "user_data" / "data" / "demo"  # what `make data` generates
HYPEROPT_FILE = ROOT / "user_data" / "strategies" / "SelfLearningStrategy.json"
FREQTRADE_STOP_S = 60  # how long a Ctrl-C waits for freqtrade's own shutdown


def display(path: str) -> str:
    """`path` relative to the checkout when inside it (the commands it prints run there)."""
    try:
        return Path(path).resolve().relative_to(ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def freqtrade(command: str, configs: list[Path], args: argparse.Namespace, *extra: str) -> int:
    cmd = [sys.executable, "-m", "freqtrade", command,
           *[a for c in configs for a in ("-c", str(c))],
           "--datadir", args.datadir, "--timerange", args.timerange,
           "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel", *extra]
    print("Running:", " ".join(cmd[2:]), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # freqtrade got the Ctrl-C too: let it shut down, then go on
        try:
            proc.wait(timeout=FREQTRADE_STOP_S)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        raise


def entry_rules(config: dict) -> EntryRules:
    """The entry rules the backtest uses: the strategy's defaults, or the parameters of a
    hyperopt file next to it (freqtrade loads it in every run), with a warning."""
    rules = EntryRules()
    if HYPEROPT_FILE.exists():
        print(f"WARNING: {HYPEROPT_FILE.relative_to(ROOT)} (written by `freqtrade hyperopt`) "
              "replaces the strategy's default parameters in every run, this demo's too. "
              "Delete it to trade with the defaults.", flush=True)
        rules = rules_from_hyperopt(json.loads(HYPEROPT_FILE.read_text()).get("params", {}))
    return replace(rules, z_candles=z_candles(timeframe_to_seconds(config["timeframe"])))


def trade_count(config: dict) -> int:
    from freqtrade.data.btanalysis import load_backtest_data
    results = ROOT / config["user_data_dir"] / "backtest_results"
    return len(load_backtest_data(results, strategy="SelfLearningStrategy"))


def report(config: dict, identifier: str, args: argparse.Namespace, rules: EntryRules,
           files: DemoFiles) -> None:
    """Why it traded, scoreboard, out-of-sample IC against the yardstick, and the PNG."""
    pairs = config["exchange"]["pair_whitelist"]
    horizon = label_period_candles(config["freqai"])
    models = ROOT / config["user_data_dir"] / "models" / identifier
    rows = load_rows(models, Path(args.datadir), pairs, config["timeframe"], horizon)
    # The fees as the strategy reads them (the threshold's floor, the optional fee rule): the
    # config's `fee`, else the market's taker fee (ccxt's Binance default on the replay
    # exchange, equal to strategy_columns.FALLBACK_FEE).
    funnel_rows, rules = with_fee_rule(rows, rules, horizon,
                                       timeframe_to_seconds(config["timeframe"]),
                                       config.get("fee"))
    print(f"\nWhy it traded: candles of {args.timerange} passing each entry filter in turn "
          "(all pairs):\n" + describe_funnel(entry_funnel(funnel_rows, rules), trade_count(config),
                                              filters_off(rules)))
    print("Did the entries realize what they predicted (the strategy's entry record, all pairs):\n"
          + describe_outcome(entry_outcome(funnel_rows, rules, horizon), rules.round_trip_fee))
    board = config["freqai"].get("self_learning", {}).get("scoreboard_candles", 288)
    print("\n" + scoreboard([last_scoreboard(p, r) for p, r in rows.items()], board))
    print(f"\nOut of sample, every predicted candle of {args.timerange} (do_predict = 1), "
          "Spearman IC / hit-rate of &-s_close against the realized target:")
    for pair, frame in rows.items():
        s = out_of_sample(frame)
        print(f"{pair}: model {s['ic']:.3f} / {s['hit_rate']:.3f}, yardstick -(close/SMA20 - 1) "
              f"{s['naive_ic']:.3f} / {s['naive_hit_rate']:.3f} ({int(s['rows'])} candles)")
    best = headline(rows)
    print("\nHeadline (as benchmarks/quality.py): per-pair IC over the whole timerange, mean over "
          "pairs, jackknifed over days, 95 % interval:")
    for name, label in (("model", "model"), ("naive", "yardstick"),
                        ("model_minus_naive", "model - yardstick")):
        e = best[name]
        print(f"{label:<18} {e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}] ({e.days} days)")
    windows = per_window(rows)
    print("\nPer day (UTC), IC of &-s_close against the realized target, mean over pairs (a "
          "diagnostic: ranked inside one day, a market with no edge scores above 0):"
          "\nday           model   yardstick")
    for day, w in windows.iterrows():
        print(f"{day}   {w['model']:+.3f}   {w['naive']:+.3f}")
    if len(windows):
        print(f"mean         {windows['model'].mean():+.3f}   {windows['naive'].mean():+.3f}")
    rolling = max(86400 // timeframe_to_seconds(config["timeframe"]), ROLLING_MIN_CANDLES)
    png = render(rows, Path(args.png), rolling, horizon)
    files.record(png)
    print(f"\nChart (price with the predicted band, rolling IC against the yardstick): "
          f"{png.resolve()}", flush=True)


def run(config: dict, args: argparse.Namespace, files: DemoFiles) -> int:
    """Backtest and plot-dataframe against the replay exchange; record what they wrote."""
    user_data = ROOT / config["user_data_dir"]
    watched = [user_data / "backtest_results", user_data / "plot"]
    before = {folder: DemoFiles.snapshot(folder) for folder in watched}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            overlay = write_replay_overlay(Path(tmp) / "replay.json", args.port)
            configs = [ROOT / "config.json", overlay, files.config]
            with BackgroundServer(build_exchange(Path(args.datadir)), port=args.port):
                code = freqtrade("backtesting", configs, args, "--export", "trades")
                if code == 0:
                    code = freqtrade("plot-dataframe", configs, args)
    finally:
        for folder in watched:
            files.record_new(folder, before[folder])
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--timerange", default="20241224-20250114")
    parser.add_argument("--datadir", default=str(DEFAULT_DATADIR))
    parser.add_argument("--identifier", default="self-learning-demo")
    parser.add_argument("--png", default=str(ROOT / "user_data" / "plot" / "demo.png"))
    parser.add_argument("--clean", action="store_true",
                        help="remove what earlier demos wrote (.demo/written.txt) and exit")
    args = parser.parse_args()

    files = DemoFiles(ROOT)
    if args.clean:
        removed = files.clean()
        print("\n".join(f"removed {path}" for path in removed) or "nothing to clean")
        return 0
    config = json.loads((ROOT / "config.json").read_text())
    rules = entry_rules(config)
    # A fresh identifier per demo run: FreqAI would otherwise reuse stored backtest
    # predictions instead of training. .demo/demo.json names it for later commands.
    identifier = f"{args.identifier}-{time.strftime('%Y%m%d-%H%M%S')}"
    files.record(ROOT / config["user_data_dir"] / "models" / identifier)
    files.write_config(identifier)
    try:
        return demo(config, args, files, identifier, rules)
    except PortInUseError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted: freqtrade and the replay exchange are stopped. "
              "`make clean-demo` removes what this run wrote.", flush=True)
        return 0


def demo(config: dict, args: argparse.Namespace, files: DemoFiles, identifier: str,
         rules: EntryRules) -> int:
    code = run(config, args, files)
    if code != 0:
        return code
    print(f"FreqUI-style charts of every pair: {ROOT / config['user_data_dir'] / 'plot'}\n"
          f"Redraw them from this run's predictions (replay exchange running, README "
          f"\"Running it\"): .venv/bin/freqtrade plot-dataframe -c config.json "
          f"-c config.replay.json -c .demo/demo.json --strategy SelfLearningStrategy "
          f"--freqaimodel SelfLearningModel --datadir {display(args.datadir)} "
          f"--timerange {args.timerange}")
    report(config, identifier, args, rules, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
