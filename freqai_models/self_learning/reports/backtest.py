"""A finished backtest's predictions, scored: FreqAI's per-window prediction files joined with
the pair's candles, the realized `&-s_close` and the yardstick
(self_learning.reports.evaluation, the one home of those formulas), rolling IC over time, and
the model's own last scoreboard.
Pure pandas except `load_rows`, which reads the files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from self_learning.reports.evaluation import (
    Estimate,
    day_jackknife,
    hit_rate,
    naive_signal,
    paired_jackknife,
    realized_targets,
    spearman_ic,
    window_ics,
)
from self_learning.telemetry.messages import ScoreLine

PREDICTION_FILE = re.compile(r"cb_(?P<coin>[a-z0-9]+)_(?P<window>\d+)_prediction\.feather$")
KEEP = ["&-s_close", "&-liq_up", "&-liq_down", "&-novelty", "&-training_counter",
        "&-score_ic", "&-score_hit_rate", "&-score_band_up", "&-score_band_down", "&-drift",
        "&-challenge", "do_predict"]


def load_rows(models_dir: Path, datadir: Path, pairs: list[str], timeframe: str,
              horizon: int) -> dict[str, pd.DataFrame]:
    """pair -> rows (date, OHLCV, the model's columns, target, naive, usable), from
    `<models_dir>/backtesting_predictions` and `<datadir>/<PAIR>-<timeframe>.feather`."""
    folder = Path(models_dir) / "backtesting_predictions"
    rows = {}
    for pair in pairs:
        coin = pair.split("/")[0].lower()
        files = sorted(p for p in folder.glob(f"cb_{coin}_*_prediction.feather")
                       if PREDICTION_FILE.search(p.name))
        if not files:
            raise FileNotFoundError(f"no backtest predictions of {pair} in {folder}")
        preds = pd.concat([pd.read_feather(p) for p in files], ignore_index=True)
        preds = preds[["date", *[c for c in KEEP if c in preds]]]
        preds = preds.drop_duplicates("date", keep="last")
        candles = pd.read_feather(Path(datadir) / f"{pair.replace('/', '_')}-{timeframe}.feather")
        rows[pair] = score_rows(candles, preds, horizon)
    return rows


def score_rows(candles: pd.DataFrame, preds: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The predicted rows with their candle, realized target and yardstick; `usable` where
    prediction and target are known and do_predict == 1."""
    truth = realized_targets(candles, horizon)
    frame = candles.assign(target=truth["&-s_close"].to_numpy(),
                           naive=naive_signal(candles["close"].to_numpy()))
    frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
    preds = preds.assign(date=pd.to_datetime(preds["date"], utc=True).astype("datetime64[ns, UTC]"))
    rows = preds.merge(frame, on="date", how="left").sort_values("date", ignore_index=True)
    rows["usable"] = (np.isfinite(rows["target"]) & np.isfinite(rows["&-s_close"])
                      & (rows["do_predict"] == 1))
    return rows


def rolling_ic(rows: pd.DataFrame, column: str, window: int, step: int = 12) -> pd.Series:
    """Spearman IC of `column` against the target over the last `window` candles, every
    `step` candles (usable rows only; NaN with fewer than window / 2 of them)."""
    values, dates = [], []
    for end in range(window, len(rows) + 1, step):
        part = rows.iloc[end - window : end]
        part = part[part["usable"] & np.isfinite(part[column])]
        values.append(spearman_ic(part[column], part["target"]) if len(part) >= window // 2
                      else np.nan)
        dates.append(rows["date"].iloc[end - 1])
    return pd.Series(values, index=pd.DatetimeIndex(dates), name=column, dtype=float)


def _scored(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows both the model and the yardstick are scored on."""
    return rows[rows["usable"] & np.isfinite(rows["naive"])]


def out_of_sample(rows: pd.DataFrame) -> dict[str, float]:
    """IC and hit-rate of the model and of the yardstick over every usable row."""
    u = _scored(rows)
    return {"ic": spearman_ic(u["&-s_close"], u["target"]),
            "hit_rate": hit_rate(u["&-s_close"], u["target"]),
            "naive_ic": spearman_ic(u["naive"], u["target"]),
            "naive_hit_rate": hit_rate(u["naive"], u["target"]), "rows": float(len(u))}


def _panel(rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """pair, day, model, naive, target of the rows both the model and the yardstick score."""
    frames = [pd.DataFrame({"pair": pair, "day": pd.to_datetime(u["date"]).dt.floor("D"),
                            "model": u["&-s_close"].to_numpy(), "naive": u["naive"].to_numpy(),
                            "target": u["target"].to_numpy()})
              for pair, u in ((p, _scored(r)) for p, r in rows.items())]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["pair", "day", "model", "naive", "target"])


def headline(rows: dict[str, pd.DataFrame]) -> dict[str, Estimate]:
    """The quality benchmark's headline IC (pooled per pair, jackknifed over days) of the
    model, of the yardstick, and of the model minus the yardstick on the same rows."""
    both = _panel(rows)
    return {"model": day_jackknife(both, "model"), "naive": day_jackknife(both, "naive"),
            "model_minus_naive": paired_jackknife(both, "model", "naive")}


def per_window(rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per UTC day (a backtest window of the 5m setup; the 1h setup's are 7 days): IC of the
    model and of the yardstick, averaged over the pairs, on the usable rows
    (evaluation.window_ics)."""
    frames = []
    for pair, r in rows.items():
        u = _scored(r)
        frames.append(pd.DataFrame({"pair": pair, "window": pd.to_datetime(u["date"]).dt.date,
                                    "model": u["&-s_close"].to_numpy(),
                                    "naive": u["naive"].to_numpy(),
                                    "target": u["target"].to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["model", "naive"])
    both = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({"model": window_ics(both, "model"), "naive": window_ics(both, "naive")})


def last_scoreboard(pair: str, rows: pd.DataFrame) -> ScoreLine:
    """The model's own prequential scoreboard at the last predicted candle."""
    last = rows.iloc[-1]
    ts = int(pd.Timestamp(last["date"]).timestamp())
    get = lambda c: float(last[c]) if c in rows else float("nan")  # noqa: E731
    alarms = int((rows["&-drift"] > 0.5).sum()) if "&-drift" in rows else 0
    return ScoreLine(pair, ts, get("&-score_ic"), get("&-score_hit_rate"),
                     get("&-score_band_up"), get("&-score_band_down"), get("&-novelty"),
                     int(get("&-training_counter")), alarms)
