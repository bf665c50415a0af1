"""The shipped 1h setup (config.json, H = 4) on markets unlike the six shipped pairs, each made
from the real 1h candles of ../shared/data/binance_usdt by a transformation whose answer is
known, and run with the stock `freqtrade backtesting` against the replay exchange on a dev
window.

    unshare -n sh -c 'ip link set lo up && nice -n 10 .venv/bin/python \
        benchmarks/other_markets.py [--out DIR] [--cases base scale flat young gaps] \
        [--timerange 20241201-20241222] [--strategy-params JSON] [--freqai JSON] [--stamp S]'

Cases (BTC, ETH and SOL/USDT unless said; candles in a temporary folder, never committed):
* `base`: the real candles, the reference of `scale`, `coarse`, `delisted` and `gaps`;
* `duo`: BTC and ETH alone, the reference of `flat`;
* `scale`: ETH's prices times 1e4 (~3.5e7 USDT) and SOL's times 1e-8 (~2e-6, a PEPE or a
  BTC-quoted pair), volumes divided by the same factor (scale_invariance.scaled: decimal
  floats). Returns are unchanged, so every served column and every trade must match `base`:
  the largest absolute and relative difference per column, rows beyond the tolerance, trades
  matched (scale_invariance.column_differences, trade_differences);
* `coarse`: ETH's and SOL's prices times 1e-8 rounded to Binance's 8 decimals (SOL ~2e-6,
  ~200 ticks: 0.5 % a tick, many zero returns and high == low candles, as BTC-quoted pairs
  have): what the price grid costs against `base`;
* `delisted`: SOL's candles end `--listed-days` into the backtest;
* `flat`: SOL replaced by a stablecoin-like USDC/USDT (close 1 +- 2 ticks of 1e-4, open the
  last close, most candles repeating the last one, a tenth with zero volume, `stablecoin`):
  no error, no NaN or inf served, few or no trades on it; how far BTC's and ETH's
  `&-s_close` moved from `duo` (the basket and the pooled statistics hold the stablecoin);
* `pinned`: as `flat` with a stablecoin pinned at 1.0000 (every candle traded, high == low,
  but a tick's wick once a day): every return and target 0;
* `depeg`: `flat` with the stablecoin losing its peg `--listed-days` into the backtest (8 %
  down in 3 hours, back in 2 days): no error or NaN, BTC's and ETH's `&-s_close` against
  `flat`;
* `crash`: SOL falls to 1e-3 of its price within 72 hours `--listed-days` into the backtest
  and stays there (LUNA in May 2022);
* `bleed`: ETH falls to 5 % of its price over 168 hours (log-linear) from 7 days into the
  backtest and stays there: a slow collapse; its own dev window by default (BLEED_TIMERANGE,
  jan-feb), no reference run;
* `illiquid`: 40 % of SOL's candles (at random) without a trade: flat at the last traded
  close with zero volume;
* `young`: SOL listed `--listed-days` into the backtest, ETH's history starting
  `--history-days` before it (less than train_period_days): the warnings and skips naming
  them, their usable rows and trades, trades opened without a usable prediction;
* `wide`: seven pairs: the six of the usdt set, DOGE's prices times 1e-4 (~4e-5, PEPE's
  level), BNB's times 1e3, and the stablecoin: a larger whitelist of unlike markets;
* `gaps`: `--gap-hours` of SOL's candles removed in the middle of the backtest and single
  hours at two other places (odd_candles.damage): what freqtrade and the model do with them.

Per case: run_report.report (exit, errors, tracebacks, warnings by message, non-finite served
values, do_predict, trades per pair and exit reasons, entries without a prediction), the log
lines naming the changed pairs, and the case's comparison with its reference run (REFERENCE,
run first unless --out holds it). Timeranges: inside a dev window of the usdt-1h set only.
One JSON line last. What the cases showed: docs/operations.md "Other markets".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import BenchError, add_freqai_argument, load_predictions, run_cli
from odd_candles import check_dev, damage, moved, pair_lines
from quality_sets import SETS, timerange_bounds
from run_report import backtest_once, models_dir, report
from scale_invariance import column_differences, predictions, scaled, trade_differences, trades

from self_learning_offline.market import pair_filename

SOURCE = SETS["usdt-1h"].datadir
TIMEFRAME = "1h"
CANDLE = pd.Timedelta(hours=1)
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
CASES = ("base", "duo", "scale", "coarse", "flat", "pinned", "depeg", "crash", "bleed",
         "illiquid", "young", "delisted", "gaps", "wide")
TIMERANGE = "20241201-20241222"
# `bleed`: ETH to BLEED_FACTOR of its price over BLEED_HOURS, BLEED_DAYS into its own window
BLEED_TIMERANGE = "20250103-20250124"
BLEED_FACTOR, BLEED_HOURS, BLEED_DAYS = 0.05, 168, 7
# case -> the reference run it is compared with (run first when missing)
REFERENCE = {"scale": "base", "coarse": "base", "gaps": "base", "delisted": "base",
             "flat": "duo", "pinned": "duo", "depeg": "flat",
             "crash": "base", "illiquid": "base"}
SCALES = {"ETH/USDT": 1e4, "SOL/USDT": 1e-8}
# `coarse`: prices at BTC-quoted levels on Binance's 8 decimals (SOL ~2e-6: ~200 ticks of
# 1e-8, 0.5 % a tick; ETH ~3.5e-5: 0.03 % a tick)
COARSE = {"ETH/USDT": 1e-8, "SOL/USDT": 1e-8}
PRICE_DECIMALS = 8
STABLE = "USDC/USDT"  # replaces SOL/USDT in `flat`
# `wide`: every pair of the usdt set, DOGE at PEPE's price level, BNB at 1e3 times its own,
# and the stablecoin
WIDE = {"BTC/USDT": 1.0, "ETH/USDT": 1.0, "SOL/USDT": 1.0, "XRP/USDT": 1.0,
        "DOGE/USDT": 1e-4, "BNB/USDT": 1e3}
TICK = 1e-4
TIMEOUT_S = 1800


def stablecoin(dates: pd.Series, seed: int = 7) -> pd.DataFrame:
    """A stablecoin's candles at `dates`: the close a bounded walk of 1 +- 2 ticks (TICK) that
    stays put 80 % of the time, open the last close, a wick of a tick on a fifth of the
    candles, a tenth of the candles with zero volume and nothing traded (flat at the last
    close), volumes of ~1e6 otherwise. Prices are decimal floats of 4 digits."""
    rng = np.random.default_rng(seed)
    n = len(dates)
    steps = rng.choice([-1, 0, 1], p=[0.1, 0.8, 0.1], size=n)
    level = np.zeros(n)
    for i in range(1, n):
        level[i] = np.clip(level[i - 1] + steps[i], -2, 2)
    close = 1.0 + TICK * level
    open_ = np.concatenate([[close[0]], close[:-1]])
    idle = rng.random(n) < 0.1
    for i in range(1, n):  # an idle candle keeps the last close; the walk goes on from it
        open_[i] = close[i - 1]
        if idle[i]:
            close[i] = open_[i]
    wick_up = (rng.random(n) < 0.2) & ~idle
    wick_down = (rng.random(n) < 0.2) & ~idle
    high = np.maximum(open_, close) + TICK * wick_up
    low = np.minimum(open_, close) - TICK * wick_down
    volume = np.where(idle, 0.0, np.round(rng.lognormal(np.log(1e6), 0.5, n), 2))
    return pd.DataFrame({"date": dates.to_numpy(), **{
        c: np.round(v, 4) for c, v in (("open", open_), ("high", high), ("low", low),
                                       ("close", close))}, "volume": volume})


def pinned(dates: pd.Series) -> pd.DataFrame:
    """A stablecoin pinned at 1: every candle 1.0000 (high == low) with volume, but a tick's
    wick down (0.9999) on the first candle of each day."""
    coin = pd.DataFrame({"date": dates.to_numpy(), "open": 1.0, "high": 1.0, "low": 1.0,
                         "close": 1.0, "volume": 1e6})
    coin.loc[coin["date"].dt.hour.to_numpy() == 0, "low"] = 1.0 - TICK
    return coin


def depegged(coin: pd.DataFrame, start: pd.Timestamp, depth: float = 0.08) -> pd.DataFrame:
    """The stablecoin losing its peg at `start`: `depth` below 1 within 3 hours, back within
    2 days (a linear recovery), prices on 4 decimals (USDC fell to 0.87 in March 2023)."""
    hours = (coin["date"] - start) / pd.Timedelta(hours=1)
    drop = np.interp(hours, [0, 3, 51], [0.0, depth, 0.0], left=0.0, right=0.0)
    prices = ["open", "high", "low", "close"]
    return coin.assign(**{c: np.round(coin[c] * (1 - drop), 4) for c in prices})


def crashed(candles: pd.DataFrame, start: pd.Timestamp, factor: float = 1e-3,
            duration_h: float = 72) -> pd.DataFrame:
    """A collapse (LUNA, May 2022): from `start` the prices fall to `factor` of their level
    within `duration_h` hours (log-linear) and stay scaled there; volumes divided by the same
    factor."""
    hours = ((candles["date"] - start) / pd.Timedelta(hours=1)).to_numpy()
    level = np.exp(np.interp(hours, [0, duration_h], [0.0, np.log(factor)], left=0.0))
    return candles.assign(**{c: (candles[c] * level).map(lambda v: float(f"{v:.12g}"))
                             for c in ("open", "high", "low", "close")},
                          volume=candles["volume"] / level)


def illiquid(candles: pd.DataFrame, share: float = 0.4, seed: int = 11) -> pd.DataFrame:
    """A thinly traded pair: `share` of the candles (at random) without a trade, flat at the
    last traded close with zero volume, as an exchange reports an hour nobody traded."""
    idle = np.random.default_rng(seed).random(len(candles)) < share
    out = candles.copy()
    close = out["close"].where(~idle).ffill().bfill()
    for column in ("open", "high", "low", "close"):
        out.loc[idle, column] = close[idle]
    out.loc[idle, "volume"] = 0.0
    return out


def case_candles(case: str, source: Path, begin: pd.Timestamp, end: pd.Timestamp,
                 args) -> dict[str, pd.DataFrame]:
    """Pair -> the candles of `case` (backtest from `begin` to `end`)."""
    if case == "wide":
        frames = {p: pd.read_feather(source / pair_filename(p, TIMEFRAME)) for p in WIDE}
        return {**{p: scaled(f, WIDE[p]) if WIDE[p] != 1 else f for p, f in frames.items()},
                STABLE: stablecoin(frames["BTC/USDT"]["date"])}
    frames = {p: pd.read_feather(source / pair_filename(p, TIMEFRAME)) for p in PAIRS}
    if case == "scale":
        return {p: scaled(f, SCALES[p]) if p in SCALES else f for p, f in frames.items()}
    if case == "coarse":
        return {p: on_decimals(scaled(f, COARSE[p])) if p in COARSE else f
                for p, f in frames.items()}
    if case == "duo":
        return {p: f for p, f in frames.items() if p != "SOL/USDT"}
    if case == "illiquid":
        return {**frames, "SOL/USDT": illiquid(frames["SOL/USDT"])}
    if case == "crash":
        return {**frames, "SOL/USDT": crashed(frames["SOL/USDT"], begin + pd.Timedelta(
            days=args.listed_days))}
    if case == "bleed":
        return {**frames, "ETH/USDT": crashed(frames["ETH/USDT"], begin + pd.Timedelta(
            days=BLEED_DAYS), BLEED_FACTOR, BLEED_HOURS)}
    if case == "delisted":
        sol = frames["SOL/USDT"]
        return {**frames, "SOL/USDT": sol[sol["date"] < begin + pd.Timedelta(
            days=args.listed_days)]}
    if case == "pinned":
        return {**{p: f for p, f in frames.items() if p != "SOL/USDT"},
                STABLE: pinned(frames["SOL/USDT"]["date"])}
    if case in ("flat", "depeg"):
        stable = stablecoin(frames["SOL/USDT"]["date"])
        if case == "depeg":
            stable = depegged(stable, begin + pd.Timedelta(days=args.listed_days))
        return {**{p: f for p, f in frames.items() if p != "SOL/USDT"}, STABLE: stable}
    if case == "young":
        eth, sol = frames["ETH/USDT"], frames["SOL/USDT"]
        return {**frames,
                "ETH/USDT": eth[eth["date"] >= begin - pd.Timedelta(days=args.history_days)],
                "SOL/USDT": damage(sol, "listing", begin, end, 0, args.listed_days)}
    if case == "gaps":
        sol = damage(frames["SOL/USDT"], "gap", begin, end, args.gap_hours, 0)
        single = begin + pd.Timedelta(days=3, hours=5), end - pd.Timedelta(days=2, hours=9)
        return {**frames, "SOL/USDT": sol[~sol["date"].isin(single)]}
    return frames


def on_decimals(candles: pd.DataFrame) -> pd.DataFrame:
    """Prices rounded to PRICE_DECIMALS decimals (Binance's tick of 1e-8 at most)."""
    return candles.assign(**{c: candles[c].round(PRICE_DECIMALS)
                             for c in ("open", "high", "low", "close")})


def changed_pairs(case: str) -> list[str]:
    return {"scale": list(SCALES), "coarse": list(COARSE), "flat": [STABLE], "pinned": [STABLE],
            "depeg": [STABLE], "crash": ["SOL/USDT"], "bleed": ["ETH/USDT"],
            "illiquid": ["SOL/USDT"],
            "young": ["ETH/USDT", "SOL/USDT"], "delisted": ["SOL/USDT"],
            "gaps": ["SOL/USDT"], "wide": ["DOGE/USDT", "BNB/USDT", STABLE]}.get(case, [])


def write_candles(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    (folder / "data").mkdir(parents=True)
    for pair, frame in frames.items():
        frame.reset_index(drop=True).to_feather(folder / "data" / pair_filename(pair,
                                                                                TIMEFRAME))


def pair_rows(models: Path, pairs: list[str]) -> dict:
    """Per pair: rows predicted, usable, the first usable date, mean |&-s_close| there."""
    out = {}
    for pair in pairs:
        try:
            rows = load_predictions(models, [pair])
        except BenchError as err:
            out[pair] = str(err)[:160]
            continue
        usable = rows[rows["do_predict"] == 1]
        out[pair] = {"predicted": int(len(rows)), "usable": int(len(usable)),
                     "first_usable": str(usable["date"].min()) if len(usable) else None,
                     "mean_abs_pred": float(usable["pred"].abs().mean()) if len(usable)
                     else None}
    return out


def compare(case: str, folder: Path, out: Path, pairs: list[str]) -> dict:
    """The case's predictions and trades (its run in `folder`) against those of its
    REFERENCE run in `out`."""
    ref = REFERENCE[case]
    base = out / ref
    if case in ("scale", "coarse"):
        columns = column_differences(predictions(models_dir(base, ref), pairs),
                                     predictions(models_dir(folder, case), pairs))
        keep = {k: v for k, v in columns.items()
                if k.endswith((".max_rel", ".rows_off")) or "rows" in k or "do_predict" in k
                or k.startswith("&-s_close")}
        return {"columns": keep, "trades": trade_differences(
            trades(base / f"results_{ref}"), trades(folder / f"results_{case}"))}
    kept = [p for p in pairs if p not in changed_pairs(case)]
    return {"reference": ref, "moved": moved(load_predictions(models_dir(base, ref), kept),
                           load_predictions(models_dir(folder, case), kept), kept)}


def case_timerange(case: str, given: str | None) -> str:
    """The backtest's timerange: `given` (--timerange), else BLEED_TIMERANGE for `bleed` and
    TIMERANGE for the other cases."""
    return given or (BLEED_TIMERANGE if case == "bleed" else TIMERANGE)


def run_case(out: Path, case: str, args) -> dict:
    folder = out / (f"{case}-{args.stamp}" if args.stamp else case)
    if folder.exists():
        shutil.rmtree(folder)
    timerange = case_timerange(case, args.timerange)
    begin, end = timerange_bounds(timerange)
    frames = case_candles(case, args.source, begin, end, args)
    write_candles(folder, frames)
    pairs = list(frames)
    run = {"case": case, "timerange": timerange,
           **backtest_once(folder, case, pairs, timerange, TIMEFRAME, args.freqai, TIMEOUT_S,
                           protections=args.protections,
                           strategy_params=args.strategy_params,
                           enable_protections=args.enable_protections)}
    result = report(run, folder, case, pairs, CANDLE, args.horizon)
    log = (folder / f"{case}.log").read_text() if (folder / f"{case}.log").exists() else ""
    result["pair_log"] = {p: pair_lines(log, p)[:12] for p in changed_pairs(case)}
    result["pair_rows"] = pair_rows(models_dir(folder, case), pairs)
    if case in REFERENCE and "failed" not in run:
        try:
            result["compared"] = compare(case, folder, out, list(PAIRS) if
                                         case in ("scale", "coarse") else pairs)
        except (BenchError, ValueError, KeyError) as err:
            result["compare_failed"] = str(err)[:300]
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="work folder (default: a tmp one)")
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    p.add_argument("--timerange", default=None,
                   help=f"default {TIMERANGE} ({BLEED_TIMERANGE} for bleed)")
    p.add_argument("--listed-days", type=int, default=10)
    p.add_argument("--history-days", type=int, default=10)
    p.add_argument("--gap-hours", type=int, default=6)
    p.add_argument("--protections", type=json.loads, default=None,
                   help="freqtrade protections (JSON list) set on the strategy's copy, run "
                        "with --enable-protections; give --stamp too")
    p.add_argument("--enable-protections", action="store_true",
                   help="freqtrade's --enable-protections with the strategy's own protections "
                        "(its default MaxDrawdown, as a dry or live bot); give --stamp too")
    p.add_argument("--strategy-params", type=json.loads, default=None,
                   help='the strategy\'s parameters ({"buy": {...}}, as strategy_grid.py) in a '
                        'parameter file beside its copy; give --stamp too')
    add_freqai_argument(p)  # give --stamp too
    p.add_argument("--stamp", default="", help="suffix of the case folders (compared with "
                                               "the reference runs without it)")
    p.add_argument("--source", type=Path, default=SOURCE,
                   help="the usdt 1h candles' folder (default: the usdt-1h set's)")
    args = p.parse_args()
    for case in args.cases:
        check_dev(case_timerange(case, args.timerange))
    config = json.loads((Path(__file__).resolve().parents[1] / "config.json").read_text())
    args.horizon = int(config["freqai"]["feature_parameters"]["label_period_candles"])
    out = args.out or Path(tempfile.mkdtemp(prefix="other-markets-"))
    needed = [REFERENCE[c] for c in args.cases if c in REFERENCE]
    first = [r for r in dict.fromkeys(needed)
             if r not in args.cases and not (out / r / f"results_{r}").exists()]
    cases = [*first, *sorted(args.cases, key=lambda c: c in REFERENCE)]
    results = {}
    for case in cases:
        results[case] = run_case(out, case, args)
        print(json.dumps(results[case], indent=1, default=str), flush=True)
    print(f"runs kept in {out}", file=sys.stderr)
    print(json.dumps({"timerange": args.timerange or TIMERANGE, "cases": results},
                     default=str))
    return 0


if __name__ == "__main__":
    run_cli(main)
