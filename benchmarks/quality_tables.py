"""The printed tables of benchmarks/quality.py (its JSON line carries the same numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from quality_trades import MIN_WEEK_DAYS


def fmt(value: float | None, width: int = 9, digits: int = 4, sign: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return f"{'-':>{width}}"
    return f"{value:>+{width}.{digits}f}" if sign else f"{value:>{width}.{digits}f}"


def interval(out: dict, key: str, width: int = 20, digits: int = 4) -> str:
    """`[low, high]` of `key`'s 95 % interval (`_ci_low`, `_ci_high`), `digits` decimals."""
    low, high = out.get(f"{key}_ci_low", np.nan), out.get(f"{key}_ci_high", np.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{'-':>{width}}"
    return f"{f'[{low:+.{digits}f}, {high:+.{digits}f}]':>{width}}"


def print_windows(out: dict[str, float], names: list[str]) -> None:
    print(f"\nper-window IC, mean over pairs (a diagnostic: ranked inside one day it scores a "
          f"market with no edge above 0)\n{'window':<12}" + "".join(f"{n:>15}" for n in names))
    for day in sorted({k.split(".")[1] for k in out if k.startswith("window.")}):
        print(f"{day:<12}" + "".join(fmt(out.get(f"window.{day}.{n}.ic", np.nan), 15)
                                     for n in names))


def print_tables(out: dict[str, float], pairs: list[str], models: list[str]) -> None:
    names = [*models, "naive"]
    print_windows(out, names)
    print(f"\nper-pair IC over the whole timerange (hit-rate)\n{'pair':<11}"
          + "".join(f"{n:>15}{'hit':>7}" for n in names))
    for pair in pairs:
        print(f"{pair:<11}" + "".join(fmt(out[f"{pair}.{n}.ic"], 15)
                                      + fmt(out[f"{pair}.{n}.hit_rate"], 7, 3) for n in names))
    print("\nheadline: per-pair IC over the whole timerange, mean over pairs, jackknife over "
          "days (bias-corrected, 95 % interval)")
    print(f"{'model':<15}{'IC':>9}{'95 % interval':>22}{'days':>6}{'rows':>8}"
          f"{'per-window':>12}{'std_ratio':>11}")
    for n in names:
        print(f"{n:<15}{fmt(out[f'mean.{n}.ic'], sign=True)}{interval(out, f'mean.{n}.ic', 22)}"
              f"{out[f'mean.{n}.days']:>6.0f}{out[f'mean.{n}.rows']:>8.0f}"
              f"{fmt(out[f'mean.{n}.ic_per_window'], 12)}"
              f"{fmt(out.get(f'mean.{n}.std_ratio', np.nan), 11)}")
    print("\npaired differences (same rows, same deleted days)")
    for m in models:
        for other in ("naive", "lightgbm"):
            key = f"mean.{m}.vs_{other}"
            if key in out:
                print(f"{m + ' - ' + other:<28}{fmt(out[key], sign=True)}{interval(out, key)}")
    if "mean.self_learning.seed_agreement" in out:
        print(f"seed agreement (rank correlation of two seeds' &-s_close): "
              f"{out['mean.self_learning.seed_agreement']:.4f}")
    print_trades(out)


def print_trades(out: dict[str, float]) -> None:
    names = sorted({k.split(".")[1] for k in out if k.startswith("trades.")})
    if not names:
        return
    print(f"\ntrades (freqtrade, default strategy parameters, after fees; entries: mean "
          f"prediction and realized &-s_close at the signal candle, %)\n{'model':<15}"
          f"{'trades':>8}{'profit %':>10}{'max dd %':>10}{'mean %':>9}{'entry pred':>12}"
          f"{'realized':>10}{'fee':>7}")
    for m in names:
        g = lambda k, w, d=2, n=m: fmt(out.get(f"trades.{n}.{k}", np.nan), w, d)  # noqa: E731
        print(f"{m:<15}{g('trades', 8, 0)}{g('profit_pct', 10)}{g('max_drawdown_pct', 10)}"
              f"{g('profit_mean_pct', 9, 3)}{g('entry_pred_pct', 12, 3)}"
              f"{g('entry_realized_pct', 10, 3)}{g('fee_round_trip_pct', 7, 2)}")


def print_weeks(out: dict[str, float], prefixes: dict[str, str], pairs: int) -> None:
    """Per run (label -> the prefix of its keys in `out`): the counted calendar weeks in which
    most pairs (more than half of `pairs`) opened a trade, and the pairs trading each week
    (quality_trades.weekly_pairs)."""
    rows = {label: p for label, p in prefixes.items() if f"{p}.weeks" in out}
    if not rows:
        return
    print(f"\nweeks trading on most pairs (more than {pairs // 2} of {pairs}; UTC Monday weeks "
          f"with >= {MIN_WEEK_DAYS} days in a window) and pairs trading each week")
    for label, p in rows.items():
        per_week = [f"{out[k]:.0f}" for k in out if k.startswith(f"{p}.pairs_week.")]
        print(f"{label:<15}{out[f'{p}.weeks_most_pairs']:>3.0f} of {out[f'{p}.weeks']:<3.0f}"
              + (f"  {' '.join(per_week)}" if per_week else ""))


def print_ablation(out: dict[str, float], names: list[str]) -> None:
    print("\nablation (IC: headline of the row; diff: row - full on the rows both scored, "
          "95 % interval)")
    print(f"{'row':<22}{'IC':>9}{'diff':>9}{'95 % interval':>22}{'trades':>8}{'profit %':>10}"
          f"{'max dd %':>10}{'entry pred':>12}{'realized':>10}")
    for name in names:
        if f"ablation.{name}.ic" not in out:
            continue
        g = lambda k, w=9, d=4, n=name: fmt(out.get(f"ablation.{n}.{k}", np.nan), w, d)  # noqa: E731
        print(f"{name:<22}{g('ic')}{g('diff')}{interval(out, f'ablation.{name}.diff', 22)}"
              f"{g('trades', 8, 0)}{g('profit_pct', 10, 2)}{g('max_drawdown_pct', 10, 2)}"
              f"{g('entry_pred_pct', 12, 3)}{g('entry_realized_pct', 10, 3)}")


def print_paired_trades(out: dict[str, float], names: list[str]) -> None:
    """full minus each run: daily trade profit (% of the wallet) summed over the days."""
    rows = [n for n in names if f"paired_trades.{n}.diff" in out]
    if not rows:
        return
    print("\npaired trades: full minus the run, profit of the trades closed each day (% of the "
          "starting wallet) summed over the days; 95 % intervals: moving-block bootstrap "
          "over days, leave-one-day-out jackknife")
    print(f"{'full minus':<15}{'diff':>9}{'bootstrap':>22}{'jackknife':>22}{'days':>6}"
          f"{'block':>7}")
    for n in rows:
        key = f"paired_trades.{n}.diff"
        print(f"{n:<15}{fmt(out[key], 9, 2, sign=True)}{interval(out, key, 22, 2)}"
              f"{interval(out, key + '_jk', 22, 2)}{out[f'{key}_days']:>6.0f}"
              f"{out[f'{key}_block_days']:>7.0f}")


def print_flip(out: dict[str, float], models: list[str], flip_at: pd.Timestamp) -> None:
    print_windows(out, [*models, "naive"])
    print(f"\nflip at {flip_at:%Y-%m-%d %H:%M}: headline IC of the days before / after "
          f"(95 % interval)\n{'model':<14}{'before':>9}{'interval':>22}{'after':>9}"
          f"{'interval':>22}")
    for m in [*models, "naive"]:
        print(f"{m:<14}{fmt(out[f'flip.{m}.ic_before'], sign=True)}"
              f"{interval(out, f'flip.{m}.ic_before', 22)}"
              f"{fmt(out[f'flip.{m}.ic_after'], sign=True)}"
              f"{interval(out, f'flip.{m}.ic_after', 22)}")
    print_trades(out)
