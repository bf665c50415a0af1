"""Scale invariance: the same real candles at another price level (prices times a factor,
volumes divided by it: the same money traded) must give the same predictions and trades.

    .venv/bin/python benchmarks/scale_invariance.py [--pairs BTC/USDT ETH/USDT DOGE/USDT]
        [--window nov-dec] [--scales 1e-5 1e3] [--keep-tmp]

Real pairs trade from ~1e-6 USDT (PEPE, SHIB, BONK; volumes of 1e12) to ~1e5 (BTC); a model
and strategy built on returns should not see the difference. The candles of `--pairs` (1h,
../shared/data/binance_usdt) are written unchanged and at each of `--scales` into temporary
datadirs (same pair names, nothing kept unless --keep-tmp), and the shipped 1h setup
(config.json, H = 4, FreqAI's 30-day windows retrained weekly) runs one real `freqtrade
backtesting` over a DEV window (usdt-1h set, benchmarks/quality_sets.py; never a holdout) on
each, against a replay exchange serving that datadir (its tick and lot sizes follow the
prices, as Binance's do). A scaled price is stored as the float of its 12-digit decimal, as
data downloaded from an exchange (decimal strings) are: freqtrade's backtest rounds an exit's
price to the tick it reads from the data's digits and fills it only inside the candle's
low..high, so a float product a hair beyond its decimal (0.16119 * 1e-5 below the float of
1.6119e-6) left a time exit at an open equal to the low unfilled for a candle.

Compared with the unscaled run, per scale (`x<scale>.` keys):
* every served model column (`&-s_close`, `&-liq_up`, `&-liq_down`, `&-novelty`, the
  scores, ...) per (pair, candle): the largest absolute difference, the largest relative one
  (|a - b| / max(|a|, |b|), rows where both are 0 count 0) and the rows whose values differ by
  more than TOLERANCE (relative); `do_predict` rows that differ;
* the IC (Spearman, per pair over the scored rows, mean over pairs) of each run;
* the trades: count, those with the same pair, open and close date and exit reason as an
  unscaled one (`matched`), the largest |profit_ratio| and relative stake differences among
  them, the sum of the profit ratios. `invariant` is 1 when every column is within TOLERANCE,
  every do_predict equal and every trade matched with profit ratios within PROFIT_TOLERANCE
  and stakes within STAKE_TOLERANCE (what freqtrade's and the exchange's rounding to the
  price tick and lot step leave).
Prints a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import (
    Backtests,
    BenchError,
    RunResult,
    RunSpec,
    prediction_files,
    read_stats,
    run_cli,
    setup_config,
    strategy_stats,
)
from quality import commit, common_freqai
from quality_sets import DEV, SETS, TIMEFRAMES

from self_learning.reports import evaluation as ev
from self_learning_offline.market import pair_filename

SET = SETS["usdt-1h"]
TIMEFRAME = "1h"
PAIRS = ["BTC/USDT", "ETH/USDT", "DOGE/USDT"]  # ~1e5, ~3e3, ~0.3 USDT in late 2024
PRICES = ["open", "high", "low", "close"]
DIGITS = 12  # significant digits of a scaled price or volume (the data have at most 8)
# float32 noise: the networks compute in float32 and FreqAI serves 6 significant digits
# (candles.frames.SERVED_DIGITS); a relative difference above this is not noise.
TOLERANCE = 1e-4
# |profit_ratio| difference of a matched trade: freqtrade's backtest rounds a rate (ROI,
# stop) to the price tick it reads from the data's decimals (0.01 on BNB at 650: 1.5e-5 of the
# price; 1 at 6.5e5, a tenth of that), a few ticks at most.
PROFIT_TOLERANCE = 1e-4
# Relative stake difference of a matched trade: the amount is rounded down to the lot step,
# 8 decimals at most as on Binance; 1e-8 BTC at 1e8 USDT (x1000) is 1 USDT of a 166 USDT stake.
STAKE_TOLERANCE = 1e-2
TRADE_KEYS = ["pair", "open_date", "close_date", "exit_reason"]
SKIPPED_COLUMNS = {"date", "do_predict"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    dev = [w.name for w in SET.windows if w.role == DEV]
    p.add_argument("--pairs", nargs="+", default=PAIRS, help="pairs of the usdt-1h set")
    p.add_argument("--window", default=dev[0], choices=dev, help="the DEV window to backtest")
    p.add_argument("--scales", nargs="+", type=float, default=[1e-5, 1e3],
                   help="price factors (volumes are divided by them)")
    p.add_argument("--timeout", type=float, default=3600.0, help="per freqtrade run, s")
    p.add_argument("--keep-tmp", action="store_true", help="keep data, logs and predictions")
    args = p.parse_args(argv)
    if any(not (s > 0 and np.isfinite(s)) or s == 1 for s in args.scales):
        p.error(f"--scales must be positive, finite and not 1, got {args.scales}")
    unknown = set(args.pairs) - set(SET.pairs)
    if unknown:
        p.error(f"--pairs {sorted(unknown)}: the usdt-1h set has {', '.join(SET.pairs)}")
    return args


def decimal(values: pd.Series) -> pd.Series:
    """Each value as the float of its DIGITS-significant-digit decimal, as an exchange's
    decimal strings give it (a product like 0.16119 * 1e-5 is not; see the module doc)."""
    return values.map(lambda v: float(f"{v:.{DIGITS}g}"))


def scaled(candles: pd.DataFrame, scale: float) -> pd.DataFrame:
    """The candles at `scale` times the price: prices times it, volume divided by it, each
    the float of a decimal (`decimal`)."""
    out = candles.copy()
    for column in PRICES:
        out[column] = decimal(out[column] * scale)
    out["volume"] = decimal(out["volume"] / scale)
    return out


def write_data(folder: Path, pairs: list[str], scale: float) -> Path:
    """The pairs' 1h candles of the set at `scale` in `folder` (same file names)."""
    folder.mkdir(parents=True)
    for pair in pairs:
        name = pair_filename(pair, TIMEFRAME)
        source = SET.datadir / name
        if not source.is_file():
            raise BenchError(f"candle file missing: {source} (see ../shared/data/README.md)")
        frame = pd.read_feather(source)
        (scaled(frame, scale) if scale != 1 else frame).to_feather(folder / name)
    return folder


def predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """Every column of FreqAI's per-window prediction files of a run (its FreqAI model
    folder), with `pair`."""
    frames = []
    for _, pair, frame in prediction_files(models_dir, pairs):
        frame = frame.assign(pair=pair)
        frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
        frames.append(frame)
    if not frames:
        raise BenchError(f"no prediction files in {models_dir / 'backtesting_predictions'}")
    return pd.concat(frames, ignore_index=True).drop_duplicates(["pair", "date"], keep="last")


def trades(results_dir: Path) -> pd.DataFrame:
    """freqtrade's trades of a run (its own result file in `results_dir`), by open date."""
    frame = pd.DataFrame(strategy_stats(read_stats(results_dir))["trades"])
    if frame.empty:
        return pd.DataFrame(columns=[*TRADE_KEYS, "profit_ratio", "stake_amount"])
    for column in ("open_date", "close_date"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["open_date", "pair"]).reset_index(drop=True)


def mean_ic(preds: pd.DataFrame, data: Path, horizon: int) -> float:
    """Spearman IC of `&-s_close` per pair over its scored rows (do_predict == 1, finite
    prediction and target, targets from the run's own candles), mean over pairs."""
    ics = []
    for pair, rows in preds.groupby("pair"):
        candles = pd.read_feather(data / pair_filename(pair, TIMEFRAME))
        candles["date"] = pd.to_datetime(candles["date"], utc=True).astype(
            "datetime64[ns, UTC]")
        truth = ev.realized_targets(candles, horizon)[["date", "&-s_close"]].rename(
            columns={"&-s_close": "target"})
        joined = rows.merge(truth, on="date")
        keep = ((joined["do_predict"] == 1) & np.isfinite(joined["&-s_close"])
                & np.isfinite(joined["target"]))
        ics.append(ev.spearman_ic(joined.loc[keep, "&-s_close"], joined.loc[keep, "target"]))
    return float(np.nanmean(ics))


def column_differences(base: pd.DataFrame, other: pd.DataFrame) -> dict[str, float]:
    """Per served column: max_abs, max_rel and rows_off (relative difference > TOLERANCE,
    or finite in one run only) over the (pair, date) rows of both; do_predict rows that
    differ and rows of one run only."""
    joined = base.merge(other, on=["pair", "date"], suffixes=("", "@"), how="outer",
                        indicator=True)
    out = {"rows": float(len(joined)),
           "rows_unmatched": float((joined["_merge"] != "both").sum())}
    both = joined[joined["_merge"] == "both"]
    out["do_predict_off"] = float((both["do_predict"] != both["do_predict@"]).sum())
    numeric = [c for c in base.columns if c not in SKIPPED_COLUMNS | {"pair"}
               and pd.api.types.is_numeric_dtype(base[c]) and f"{c}@" in both]
    for column in numeric:
        a, b = both[column].to_numpy(float), both[f"{column}@"].to_numpy(float)
        finite = np.isfinite(a) & np.isfinite(b)
        diff = np.abs(a - b)[finite]
        size = np.maximum(np.abs(a), np.abs(b))[finite]
        rel = np.divide(diff, size, out=np.zeros_like(diff), where=size > 0)
        out[f"{column}.max_abs"] = float(diff.max()) if len(diff) else 0.0
        out[f"{column}.max_rel"] = float(rel.max()) if len(rel) else 0.0
        out[f"{column}.rows_off"] = float((rel > TOLERANCE).sum()
                                          + (np.isfinite(a) != np.isfinite(b)).sum())
    return out


def trade_differences(base: pd.DataFrame, other: pd.DataFrame) -> dict[str, float]:
    """trades, matched (same pair, open and close date, exit reason as an unscaled trade),
    profit_ratio_max_diff and stake_max_rel_diff (relative) among the matched, and
    profit_ratio_sum."""
    matched = base.merge(other, on=TRADE_KEYS, suffixes=("", "@"))
    diff = (matched["profit_ratio"].astype(float) - matched["profit_ratio@"].astype(float)).abs()
    stake = (matched["stake_amount@"].astype(float) / matched["stake_amount"].astype(float)
             - 1).abs()
    return {"trades": float(len(other)), "matched": float(len(matched)),
            "profit_ratio_max_diff": float(diff.max()) if len(diff) else 0.0,
            "stake_max_rel_diff": float(stake.max()) if len(stake) else 0.0,
            "profit_ratio_sum": float(other["profit_ratio"].astype(float).sum())
            if len(other) else 0.0}


def invariant(columns: dict[str, float], trade: dict[str, float], base_trades: int) -> bool:
    offs = [v for k, v in columns.items() if k.endswith(".rows_off")]
    return (sum(offs) == 0 and columns["do_predict_off"] == 0
            and columns["rows_unmatched"] == 0 and trade["trades"] == base_trades
            and trade["matched"] == base_trades
            and trade["profit_ratio_max_diff"] <= PROFIT_TOLERANCE
            and trade["stake_max_rel_diff"] <= STAKE_TOLERANCE)


def run_scale(tmp: Path, pairs: list[str], scale: float, timerange: str, horizon: int,
              timeout: float) -> RunResult:
    label = f"x{scale:g}"
    data = write_data(tmp / f"data_{label}", pairs, scale)
    tf = TIMEFRAMES[TIMEFRAME]
    common = common_freqai(argparse.Namespace(backtest_period_days=None,
                                              include_timeframes=None), tf, horizon)
    print(f"scale {label}: {data}", flush=True)
    backtests = Backtests(tmp / f"runs_{label}", data, pairs, timerange, common, timeout,
                          jobs=1, stake="USDT", timeframe=TIMEFRAME)
    return backtests.run_all([RunSpec("full", "SelfLearningModel")])["full"]


def print_table(out: dict[str, float], labels: list[str]) -> None:
    columns = sorted({k.split(".", 1)[1].rsplit(".", 1)[0] for k in out
                      if k.endswith(".max_rel") and k.startswith("x")})
    print(f"\n{'column':<24}" + "".join(f"{lab + ' max_rel':>18}{'rows_off':>10}"
                                         for lab in labels[1:]))
    for column in columns:
        print(f"{column:<24}" + "".join(
            f"{out[f'{lab}.{column}.max_rel']:>18.3g}{out[f'{lab}.{column}.rows_off']:>10.0f}"
            for lab in labels[1:]))
    for key in ("ic", "trades", "matched", "profit_ratio_max_diff", "stake_max_rel_diff",
                "profit_ratio_sum",
                "do_predict_off", "invariant"):
        print(f"{key:<24}" + "".join(f"{out.get(f'{lab}.{key}', float('nan')):>18.6g}"
                                     f"{'':>10}" for lab in labels))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    window = next(w for w in SET.windows if w.name == args.window)
    horizon = setup_config(TIMEFRAME)["freqai"]["feature_parameters"]["label_period_candles"]
    tmp = Path(tempfile.mkdtemp(prefix="scale-invariance-"))
    scales = [1.0, *args.scales]
    labels = [f"x{s:g}" for s in scales]
    try:
        results = {label: run_scale(tmp, args.pairs, scale, window.timerange, horizon,
                                    args.timeout)
                   for label, scale in zip(labels, scales, strict=True)}
    except BaseException:
        print(f"tmp folder kept: {tmp}", file=sys.stderr)
        raise
    preds = {label: predictions(r.models_dir, args.pairs) for label, r in results.items()}
    trade_lists = {label: trades(r.results_dir) for label, r in results.items()}
    base = labels[0]
    out: dict[str, float] = {}
    for label in labels:
        out[f"{label}.ic"] = mean_ic(preds[label], tmp / f"data_{label}", horizon)
        trade = trade_differences(trade_lists[base], trade_lists[label])
        out.update({f"{label}.{k}": v for k, v in trade.items()})
        out[f"{label}.wall_s"] = results[label].wall_s
        if label != base:
            columns = column_differences(preds[base], preds[label])
            out.update({f"{label}.{k}": v for k, v in columns.items()})
            out[f"{label}.invariant"] = float(invariant(columns, trade,
                                                        len(trade_lists[base])))
    print_table(out, labels)
    out["wall_s"] = time.monotonic() - began
    if args.keep_tmp:
        print(f"tmp folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = {"pairs": args.pairs, "window": [window.name, window.timerange],
            "scales": args.scales, "tolerance": TOLERANCE, "commit": commit(),
            "date": f"{datetime.now(UTC):%Y-%m-%d}", "label_period_candles": horizon}
    print(json.dumps({"meta": meta, **{k: (None if not np.isfinite(v) else round(v, 9))
                                       for k, v in out.items()}}))
    return 0


if __name__ == "__main__":
    run_cli(main)
