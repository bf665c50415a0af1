"""The demo's chart (PNG, matplotlib): a pair's price with the predicted band and mean, and
the rolling IC of the model against the yardstick over the backtest, with the model's own
prequential scoreboard IC (what it computed candle by candle, from matured predictions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from self_learning.reports.backtest import rolling_ic

COLORS = ["#2962ff", "#ff6d00", "#00897b", "#8e24aa"]


def render(rows: dict[str, pd.DataFrame], path: Path, window: int, horizon: int,
           zoom: int = 288) -> Path:
    """Write the chart to `path`: the first pair's last `zoom` candles with the band, and
    every pair's rolling IC over the whole backtest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pair, first = next(iter(rows.items()))
    first = first.iloc[-zoom:]  # the band is a fraction of a percent: the last day shows it
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7.5),
                                      gridspec_kw={"height_ratios": [3, 2]})
    _price_band(top, pair, first, horizon)
    _rolling_ics(bottom, rows, window)
    import matplotlib.dates as mdates

    for ax in (top, bottom):
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _price_band(ax, pair: str, frame: pd.DataFrame, horizon: int) -> None:
    """The top panel: `frame`'s close, the predicted band and the predicted mean close."""
    ok = frame["do_predict"] == 1
    high = (frame["close"] * (1 + frame["&-liq_up"])).where(ok)
    low = (frame["close"] * (1 + frame["&-liq_down"])).where(ok)
    ax.fill_between(frame["date"], low, high, color="#26a69a", alpha=0.18, linewidth=0,
                    label=f"predicted range, next {horizon} candles (&-liq_down..&-liq_up)")
    ax.plot(frame["date"], frame["close"], color="#263238", linewidth=0.8, label="close")
    ax.plot(frame["date"], (frame["close"] * (1 + frame["&-s_close"])).where(ok),
            color="#2962ff", linewidth=0.6, alpha=0.8, label="predicted mean close (&-s_close)")
    ax.set_title(f"{pair}: price and the model's predicted band, last {len(frame)} candles "
                 "of the prequential backtest")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def _rolling_ics(ax, rows: dict[str, pd.DataFrame], window: int) -> None:
    """The bottom panel: per pair, the model's and the yardstick's rolling IC, and the model's
    own scoreboard IC when the rows have it."""
    for i, (name, frame) in enumerate(rows.items()):
        color = COLORS[i % len(COLORS)]
        model, naive = rolling_ic(frame, "&-s_close", window), rolling_ic(frame, "naive", window)
        ax.plot(model.index, model, color=color, linewidth=1.4, label=f"{name} model")
        ax.plot(naive.index, naive, color=color, linewidth=1.0, linestyle="--",
                label=f"{name} yardstick -(close/SMA20 - 1)")
        if "&-score_ic" in frame:
            ax.plot(frame["date"], frame["&-score_ic"], color=color, linewidth=0.6,
                    linestyle=":", alpha=0.9, label=f"{name} model's own scoreboard IC")
    ax.axhline(0.0, color="#616161", linewidth=0.8)
    ax.set_title(f"Rolling Spearman IC of &-s_close over the last {window} candles "
                 "against the realized target")
    ax.legend(loc="lower left", fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
