"""Where the model's edge sits across the whitelist: the basket's timing or the pairs' ranking.

    .venv/bin/python benchmarks/quality.py --set usdt-1h --windows dev --no-seed \\
        --no-lightgbm --no-ablation --jobs 1 --keep-tmp               # -> /tmp/quality-bench-X
    .venv/bin/python benchmarks/basket_share.py --from /tmp/quality-bench-X \\
        --datadir ../shared/data/binance_usdt --timeframe 1h --horizon 4

Reads a folder kept by quality.py (one sub-folder per window, each with config.full.json and
user_data_full/) and runs no backtest. Per window and over all windows, on the dates where
every pair of the whitelist has a usable prediction and target (self_learning.reports.basket):

* the share of the prediction's variance that is the basket mean (about 1 / pairs when the
  pairs' predictions are unrelated);
* the served per-pair IC (the quality benchmark's headline, on these dates);
* timing: the basket mean prediction's IC against the basket mean target;
* ranking: the cross-sectional IC across the pairs per date, averaged over dates;
* the per-pair IC of each prediction shrunk towards the basket mean (m + lam (e - m)) and its
  paired difference to the served one.

Each with its leave-one-day-out jackknife 95 % interval. A scenario folder (--scenario,
random walks for the no-edge control) reads its candles from `<folder>/<scenario>_data`:
pass that as --datadir. Prints a table per window, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backtest_runs import kept_windows, run_cli

from self_learning.reports.backtest import load_rows
from self_learning.reports.basket import Panel, concat, decomposition, panel

LAMS = [0.0, 0.25, 0.5]


def window_panel(window: Path, datadir: Path, timeframe: str, horizon: int) -> Panel:
    config = json.loads((window / "config.full.json").read_text())
    pairs = config["exchange"]["pair_whitelist"]
    rows = load_rows(window / "user_data_full" / "models" / "quality-full", datadir, pairs,
                     timeframe, horizon)
    return panel(rows)


def line(name: str, figures: dict) -> str:
    def cell(e: dict) -> str:
        return f"{e['value']:+.4f} [{e['low']:+.4f}, {e['high']:+.4f}]"

    shrunk = "; ".join(f"lam {lam}: {cell(f['ic'])}, minus served {cell(f['minus_served'])}"
                       for lam, f in figures["shrunk"].items())
    return (f"{name}: {figures['pairs']} pairs, {figures['dates']} dates over "
            f"{figures['days']} days; basket share of the prediction's variance "
            f"{figures['basket_share']:.2f}\n  served per-pair IC {cell(figures['served_ic'])}; "
            f"timing (basket) IC {cell(figures['timing_ic'])}; ranking (cross-sectional) IC "
            f"{cell(figures['ranking_ic'])}\n  shrunk towards the basket: {shrunk}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --keep-tmp (window sub-folders)")
    p.add_argument("--datadir", type=Path, required=True)
    p.add_argument("--timeframe", default="1h")
    p.add_argument("--horizon", type=int, required=True, help="label_period_candles H")
    args = p.parse_args(argv)
    windows = kept_windows(args.source)
    panels = {w.name: window_panel(w, args.datadir, args.timeframe, args.horizon)
              for w in windows}
    if len(panels) > 1:
        panels["all windows"] = concat(list(panels.values()))
    out = {}
    for name, pnl in panels.items():
        out[name] = decomposition(pnl, LAMS)
        print(line(name, out[name]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
