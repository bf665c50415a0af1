"""Whether the strategy's entries realize what they predict (issue 19, "Trading after fees").

`entry_record` is the strategy's own record of its entry signals (`enter_long` == 1), as known
at each candle: how many have matured (their H candles have passed, so what they realized is
known), and over the last `signals` of them the mean prediction `&-s_close` at the signal and
the mean `&-s_close` target they realized (features.observed_targets, the one target formula).
An entry earns its fees only where the realized mean clears the round trip of fees; the
prediction beside it says how far the model's calibration is off. SelfLearningStrategy draws
the three columns in FreqUI and `plot-dataframe` ("Entries") and logs a line through
`EntryRecordLog` whenever a signal matures (live, dry-run; once per pair in a backtest).

These are signals, not trades: a signal while a trade of the pair is open opens none, and a
trade's profit also depends on its exit. freqtrade's own reports give the trades.

Pure pandas apart from the log; no freqtrade.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV, observed_targets
from self_learning.strategy.strategy_columns import observed_rows

logger = logging.getLogger(__name__)

# The chart's and the log's window: the last ENTRY_RECORD_SIGNALS matured entry signals.
ENTRY_RECORD_SIGNALS = 50
MATURED, PREDICTED, REALIZED = "entry_matured", "entry_predicted", "entry_realized"
ENTRY_RECORD_COLUMNS = (MATURED, PREDICTED, REALIZED)


def matured_signals(dataframe: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The entry signals (`enter_long` == 1 with a finite `&-s_close`) whose H = `horizon`
    observed candles have passed within `dataframe`, in the order they matured, each indexed
    by the row at which its realized target became known (a signal at observed row i, at
    observed row i + H): PREDICTED, the `&-s_close` at the signal, and REALIZED, its
    `&-s_close` target (features.observed_targets). Empty when none has matured."""
    observed = observed_rows(dataframe)
    if not observed.any():  # no candle yet, or none observed: nothing can have matured
        return pd.DataFrame({PREDICTED: [], REALIZED: []}, dtype=np.float64)
    frame = dataframe.loc[observed]
    realized = pd.Series(observed_targets(frame[OHLCV].to_numpy(dtype=np.float64), horizon)[
        :, 0], index=frame.index)
    prediction = frame["&-s_close"]
    entered = frame["enter_long"] if "enter_long" in frame.columns else pd.Series(
        0.0, index=frame.index)
    signal = entered.eq(1) & np.isfinite(prediction) & np.isfinite(realized)
    matured = signal.shift(horizon, fill_value=False).astype(bool)
    return pd.DataFrame({PREDICTED: prediction.shift(horizon)[matured],
                         REALIZED: realized.shift(horizon)[matured]})


def record_of(index: pd.Index, matured: pd.DataFrame,
              signals: int | None = ENTRY_RECORD_SIGNALS) -> pd.DataFrame:
    """The record (entry_record) on the rows `index` from their matured_signals."""
    means = matured.rolling(signals, min_periods=1).mean() if signals \
        else matured.expanding().mean()
    record = means.assign(**{MATURED: np.arange(1, len(matured) + 1)})
    return record.reindex(index).ffill().fillna({MATURED: 0}).astype(
        {MATURED: np.int64})[list(ENTRY_RECORD_COLUMNS)]


def entry_record(dataframe: pd.DataFrame, horizon: int,
                 signals: int | None = ENTRY_RECORD_SIGNALS) -> pd.DataFrame:
    """At each row t: `entry_matured`, the entry signals (`enter_long` == 1 with a finite
    `&-s_close`) made H = `horizon` observed candles or more before t, whose realized target
    is therefore known at t; `entry_predicted` / `entry_realized`, the mean `&-s_close` of the
    last `signals` of them (None: all) and the mean of their realized `&-s_close` targets.
    NaN before the first matured signal. A row's values depend on that row and earlier ones
    only. Runs over the observed candles (observed_rows): a filled row carries the previous
    row's values."""
    return record_of(dataframe.index, matured_signals(dataframe, horizon), signals)


class EntryRecordLine(NamedTuple):
    """How many signals have matured, and the mean prediction and realized target of the
    last ones, as the log and `make demo` read them."""

    matured: int
    predicted: float
    realized: float

    @classmethod
    def over(cls, matured: pd.DataFrame, signals: int | None) -> EntryRecordLine:
        """The last `signals` (None: all) of `matured` (matured_signals): the record's last
        row; nothing matured for an empty one."""
        last = matured.tail(signals) if signals else matured
        return cls(len(matured), float(last[PREDICTED].mean()), float(last[REALIZED].mean()))


def describe(pair: str, line: EntryRecordLine, round_trip_fee: float,
             signals: int | None = ENTRY_RECORD_SIGNALS) -> str:
    """One log line: the pair's matured entry signals, what the last `signals` of them (None:
    all) predicted and realized on average, and the round trip of fees they must clear."""
    which = (f"the last {min(line.matured, signals)}" if signals
             else "all" if line.matured > 1 else "it")
    verdict = "above" if line.realized > round_trip_fee else "not above"
    return (f"Entry signals of {pair}: {line.matured} matured; {which} predicted "
            f"{100 * line.predicted:+.3f} % on average and realized {100 * line.realized:+.3f} %, "
            f"{verdict} the round trip of fees ({100 * round_trip_fee:.3f} %)")


class EntryRecordLog:
    """Logs a pair's entry record over its last `signals` matured signals (None: all, what a
    backtest reports once per pair) when a signal of it has matured since its last line (the
    first analysis logs what its candles already hold); silent while none has matured."""

    def __init__(self, signals: int | None = ENTRY_RECORD_SIGNALS) -> None:
        self.signals = signals
        self._logged: dict[str, int] = {}

    def update(self, pair: str, line: EntryRecordLine, round_trip_fee: float) -> bool:
        """Log `line` (the record over `signals`) if `pair`'s matured count changed; True when
        it logged."""
        if line.matured == 0 or self._logged.get(pair) == line.matured:
            return False
        self._logged[pair] = line.matured
        logger.info(describe(pair, line, round_trip_fee, self.signals))
        return True
