"""The printed tables of benchmarks/quality.py (its JSON line carries the same numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fmt(value: float, width: int = 9, digits: int = 4) -> str:
    return f"{value:>{width}.{digits}f}" if np.isfinite(value) else f"{'-':>{width}}"


def print_windows(out: dict[str, float], names: list[str]) -> None:
    print(f"\nper-window IC (mean over pairs)\n{'window':<12}"
          + "".join(f"{n:>19}" for n in names))
    for day in sorted({k.split(".")[1] for k in out if k.startswith("window.")}):
        print(f"{day:<12}" + "".join(fmt(out.get(f"window.{day}.{n}.ic", np.nan), 19)
                                     for n in names))


def print_tables(out: dict[str, float], pairs: list[str], models: list[str]) -> None:
    names = [*models, "naive"]
    print(f"\n{'pair':<10}" + "".join(f"{n + ' IC':>19}{'hit':>7}" for n in names))
    for scope in [*pairs, "mean"]:
        print(f"{scope:<10}" + "".join(fmt(out[f"{scope}.{n}.ic"], 19)
                                       + fmt(out[f"{scope}.{n}.hit_rate"], 7, 3) for n in names))
    print(f"{'IC s.e.':<10}" + "".join(fmt(out[f"mean.{n}.ic_se"], 19) + " " * 7 for n in names))
    print_windows(out, names)
    print("\ndiagnostics: std_ratio = std(pred) / std(target); ic_vs_naive = IC(pred, naive)")
    for m in models:
        print(f"{m:<16}" + "".join(f"{s} {out[f'mean.{m}.{s}']:.4f}   " for s in
                                   ("std_ratio", "ic_vs_naive", "train_s"))
              + f"IC - naive IC {out[f'mean.{m}.vs_naive']:+.4f} +- "
              f"{out[f'mean.{m}.vs_naive_se']:.4f}")
    if "mean.self_learning.seed_agreement" in out:
        print(f"seed agreement (rank correlation of two seeds' &-s_close): "
              f"{out['mean.self_learning.seed_agreement']:.4f}")
    trades = sorted({k.split(".")[1] for k in out if k.startswith("trades.")})
    if trades:
        print(f"\ntrades (freqtrade, default strategy parameters)\n{'model':<20}{'trades':>8}"
              f"{'profit %':>10}{'max dd %':>10}")
    for m in trades:
        print(f"{m:<20}{out[f'trades.{m}.trades']:>8.0f}"
              + fmt(out[f"trades.{m}.profit_pct"], 10, 2)
              + fmt(out[f"trades.{m}.max_drawdown_pct"], 10, 2))


def print_ablation(out: dict[str, float], names: list[str]) -> None:
    print("\nablation (IC = mean of per-window ICs +- s.e.; diff = paired per-window "
          "difference to full)")
    print(f"{'row':<28}{'IC':>8}{'s.e.':>8}{'hit':>7}{'diff':>9}{'s.e.':>8}{'trades':>8}"
          f"{'profit %':>10}")
    for name in names:
        if f"ablation.{name}.ic" not in out:
            continue
        label = "full (= linear_only)" if name == "full" else name
        g = lambda k, w=8, d=4, n=name: fmt(out.get(f"ablation.{n}.{k}", np.nan), w, d)  # noqa: E731
        print(f"{label:<28}{g('ic')}{g('ic_se')}{g('hit_rate', 7, 3)}{g('diff', 9)}"
              f"{g('diff_se')}{g('trades', 8, 0)}{g('profit_pct', 10, 2)}")


def print_flip(out: dict[str, float], models: list[str], flip_at: pd.Timestamp) -> None:
    print_windows(out, [*models, "naive"])
    print(f"\nflip at {flip_at:%Y-%m-%d %H:%M}: mean IC over the days before / after "
          f"(+- s.e. over days)\n{'model':<14}{'before':>9}{'s.e.':>8}{'after':>9}{'s.e.':>8}")
    for m in [*models, "naive"]:
        print(f"{m:<14}" + "".join(fmt(out[f"flip.{m}.{k}"], w) for k, w in
                                   (("ic_before", 9), ("ic_before_se", 8), ("ic_after", 9),
                                    ("ic_after_se", 8))))


