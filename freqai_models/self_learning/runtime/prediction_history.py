"""PredictionHistory: what the model said for each recent candle of a pair, when it said it.

In live trading FreqAI hands the model the whole recent dataframe every candle, but only the
newest candle is new. Its rows keep the predictions made when each was the newest (the
training counter of those rows therefore never falls, and nothing is recomputed); rows never
predicted before (a fresh start, a restart) are predicted once with the model as it is.
Pure numpy; the runtime owns one per pair.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from self_learning.candles.predictions import SCORE_NAMES, Predictions

FIELDS = ("s_close", "liq_up", "liq_down", "novelty", "training_counter", "ok")


class PredictionHistory:
    def __init__(self, keep: int):
        self.keep = int(keep)
        self._ts = np.zeros(0, np.int64)
        self._values: dict[str, np.ndarray] = {}

    def remember(self, p: Predictions) -> None:
        """Add (or overwrite) the rows of `p`, keeping the newest `keep` candles."""
        if len(p.ts) == 0:
            return
        incoming = {**{f: np.asarray(getattr(p, f)) for f in FIELDS},
                    **{f"score_{k}": p.score(k) for k in SCORE_NAMES}}
        if len(self._ts) and p.ts[0] > self._ts[-1] and np.all(np.diff(p.ts) > 0):
            # live: only newer candles, appended (no search, no sort)
            ts = np.concatenate([self._ts, p.ts])[-self.keep:]
            self._values = {k: np.concatenate([self._values[k], v])[-self.keep:]
                            for k, v in incoming.items()}
            self._ts = ts
            return
        if len(self._ts):
            old = ~np.isin(self._ts, p.ts)
            ts = np.concatenate([self._ts[old], p.ts])
            values = {k: np.concatenate([self._values[k][old], v]) for k, v in incoming.items()}
        else:
            ts, values = np.asarray(p.ts, np.int64), incoming
        order = np.argsort(ts, kind="stable")[-self.keep:]
        self._ts = ts[order]
        self._values = {k: v[order] for k, v in values.items()}

    def missing(self, ts: np.ndarray) -> np.ndarray:
        """Mask of the timestamps never predicted (or forgotten)."""
        ts = np.asarray(ts)
        if len(self._ts) == 0:
            return np.ones(len(ts), bool)
        pos = np.minimum(np.searchsorted(self._ts, ts), len(self._ts) - 1)  # _ts ascends
        return self._ts[pos] != ts

    def lookup(self, ts: np.ndarray) -> Predictions:
        """The remembered rows for `ts`. A candle never predicted (one that was not stepped:
        nothing traded in it) takes the values of the remembered candle before it, marked not
        tradable, so the training counter still never falls."""
        ts = np.asarray(ts)
        if len(self._ts) == 0:
            n = len(ts)
            return Predictions(ts, *(np.zeros(n) for _ in FIELDS[:5]), np.zeros(n, bool),
                               scores={k: np.full(n, np.nan) for k in SCORE_NAMES})
        pos = np.searchsorted(self._ts, ts, side="right") - 1
        exact = (pos >= 0) & (self._ts[np.maximum(pos, 0)] == ts)
        pos = np.maximum(pos, 0)
        fields = {f: self._values[f][pos] for f in FIELDS}
        fields["ok"] = fields["ok"] & exact
        scores = {k: np.where(exact, self._values[f"score_{k}"][pos], np.nan)
                  for k in SCORE_NAMES}
        return Predictions(ts, **fields, scores=scores)


def merge(base: Predictions, rows: Predictions) -> Predictions:
    """`base` covers every candle; the candles of `rows` take their values from it."""
    if len(rows.ts) == 0:
        return replace(base, learned=rows.learned, passed_over=rows.passed_over,
                       halted=rows.halted)
    pos = np.searchsorted(base.ts, rows.ts)
    fields = {}
    for name in FIELDS:
        values = np.array(getattr(base, name), copy=True)
        values[pos] = getattr(rows, name)
        fields[name] = values
    scores = {}
    for name in SCORE_NAMES:
        values = np.array(base.score(name), copy=True)
        values[pos] = rows.score(name)
        scores[name] = values
    return Predictions(base.ts, learned=rows.learned, scores=scores,
                       passed_over=rows.passed_over, halted=rows.halted, **fields)
