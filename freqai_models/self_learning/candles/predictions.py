"""Predictions of one pair's learner, row-aligned with the candles asked for (no TensorFlow
here, so the adapter can build its null output when TensorFlow is missing)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The output row of the compiled per-candle step (learning/program.py), in order: what is
# predicted, then per stepped row the prequential scoreboard (rolling IC, hit-rate, band
# coverage: monitor/scoreboard.scores, in this order), a drift alarm flag, candles since the
# last learned update, the online losses of the networks, how many matured predictions
# the scoreboard holds (up to `scoreboard_candles`), and which return model served s_close
# (monitor/challenge.Challenge.served: 0 no challenge, 1 the challenger, -1 the incumbent).
PREDICTED = ("s_close", "liq_up", "liq_down", "novelty")
BOARD_SCORES = ("ic", "hit_rate", "band_up", "band_down")
SCORE_NAMES = (*BOARD_SCORES, "drift", "since_learned", "loss_autoencoder", "loss_discovery",
               "loss_liquidity", "board_n", "challenge")
OUTPUTS = (*PREDICTED, *SCORE_NAMES)


@dataclass(frozen=True)
class Predictions:
    ts: np.ndarray
    s_close: np.ndarray
    liq_up: np.ndarray
    liq_down: np.ndarray
    novelty: np.ndarray
    training_counter: np.ndarray
    ok: np.ndarray            # True where the prediction may be traded on
    learned: int = 0          # samples learned while producing these (observe only)
    # new candles passed over, not market observations (nothing traded, broken, repeated;
    # observe only): no row here, never learned
    passed_over: int = 0
    # the newest candle stepped over so far was passed over: a halt, an outage freqtrade
    # filled or a closed market goes on (observe only; runtime/learning_log.py)
    halted: bool = False
    # Prequential scoreboard per row (ic, hit_rate, band_up, band_down, drift, ...); NaN where
    # the row was predicted without stepping (see monitor/scoreboard.py), except `challenge`:
    # the model state that served the row is known either way.
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    def score(self, name: str) -> np.ndarray:
        """The score `name` of every row, NaN where these rows have none. A name not in
        SCORE_NAMES is a KeyError: a misspelt score fails instead of reading as never known."""
        if name not in SCORE_NAMES:
            raise KeyError(f"no score {name!r} (the scores: {', '.join(SCORE_NAMES)})")
        values = self.scores.get(name)
        return np.full(len(self.ts), np.nan) if values is None else np.asarray(values)

    @staticmethod
    def empty() -> Predictions:
        """No rows (nothing was stepped)."""
        f, i = np.zeros(0, np.float32), np.zeros(0, np.int64)
        return Predictions(i, f, f, f, f, i, np.zeros(0, bool),
                           scores={k: f for k in SCORE_NAMES})
