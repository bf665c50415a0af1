"""The columns SelfLearningStrategy derives from its dataframe: pure pandas, no freqtrade.

Owns the strategy's dataframe arithmetic, so the strategy file keeps only freqtrade's
interface (parameters, populate_* methods, callbacks):

* FreqAI's labels: `add_target_labels` (the one target formula, features.observed_targets);
* indicator plumbing: `ratio` (NaN instead of inf), `band_position` (%B, defined for a
  band without width), `over_observed` (indicators over the
  observed candles only, like the model's windows), `on_price_grid` (prices as whole ticks,
  so indicators are the same at any price level);
* entry-filter inputs: `prediction_z` (the prediction against its own recent distribution),
  `scoreboard_ic` (the model's rolling IC, NaN while unknown), `calibrated_return` (the
  prediction mapped to the return its matured predictions realized), and the filters themselves,
  `entry_filters` (one mask per rule, also what `make demo` counts to say why it traded;
  `optional_filters` / `filters_off`: the ones off by default);
* timing in candles of the configured timeframe: `z_candles`, `roi_table`,
  `calibration_candles`, `drawdown_protection` (freqtrade's MaxDrawdown, the default
  protection), `hold_candles` and `entry_signal_on` (the time exit, and whether it waits);
* chart levels: `band_levels` (the predictions as prices).

Every function maps a DataFrame (or Series) to a Series or DataFrame. Only the labels look
ahead (that is what a label is); in every other column a row's value depends on that row and
earlier ones only (for `over_observed`, as far as its `compute` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV, TARGET_NAMES, observed_candles, observed_targets
from self_learning.candles.frames import significant

DAY_S = 86_400
# The prediction's own recent distribution: its last day of candles of the timeframe, at
# least MIN_Z_CANDLES (at least a quarter of it predicted before a z-score exists).
MIN_Z_CANDLES = 24
Z_CANDLES = DAY_S // 300  # 288 at 5m
# The calibration of `&-s_close` (calibrated_return): the matured predictions of the last
# CALIBRATION_DAYS, known once a quarter of them has matured.
CALIBRATION_DAYS = 14
# Fee per side when neither the config's `fee` nor the exchange's market gives one (Binance
# spot's taker fee); the threshold is at least twice it, and so is expected_return with the
# fee rule on.
FALLBACK_FEE = 0.001
# The ROI table in multiples of the horizon H (label_period_candles): take 3 % at once, 1 %
# after H candles (the predicted horizon has passed), break even after 3H candles.
ROI_STEPS = ((0, 0.03), (1, 0.01), (3, 0.0))
# The default protection, freqtrade's MaxDrawdown on the account's equity (docs/hourly.md
# "freqtrade's LowProfitPairs and MaxDrawdown", rules/lowprofit-rule.md): every pair is locked
# for DRAWDOWN_LOCK_HORIZONS x H candles once the trades closed within the last
# DRAWDOWN_LOOKBACK_HORIZONS x H candles (at least DRAWDOWN_TRADES of them) took more than
# MAX_DRAWDOWN of the account: the widest stop's loss on a whole account, which takes at least
# max_open_trades full stops at once.
MAX_DRAWDOWN = 0.15
DRAWDOWN_LOOKBACK_HORIZONS = 12  # two days at 1h (H = 4)
DRAWDOWN_LOCK_HORIZONS = 3  # the ROI table's break-even point
DRAWDOWN_TRADES = 4


def z_candles(timeframe_s: int) -> int:
    """Candles of one day of the timeframe (288 at 5m, 24 at 1h), at least MIN_Z_CANDLES."""
    return max(MIN_Z_CANDLES, DAY_S // int(timeframe_s))


def roi_table(horizon: int, timeframe_s: int) -> dict[str, float]:
    """freqtrade's `minimal_roi` (minutes -> ratio) for ROI_STEPS in candles of the
    timeframe: {"0": 0.03, "60": 0.01, "180": 0.0} at 5m and H = 12, the same candles at 1h
    ({"0": 0.03, "720": 0.01, "2160": 0.0})."""
    minutes = int(timeframe_s) // 60
    return {str(steps * horizon * minutes): roi for steps, roi in ROI_STEPS}


def drawdown_protection(horizon: int) -> list[dict]:
    """freqtrade's `protections` list holding the default MaxDrawdown, in candles of the
    timeframe: lookback 48 and lock 12 candles at H = 4 (1h), 144 and 36 at H = 12 (5m)."""
    return [{"method": "MaxDrawdown", "calculation_mode": "equity",
             "lookback_period_candles": DRAWDOWN_LOOKBACK_HORIZONS * int(horizon),
             "trade_limit": DRAWDOWN_TRADES, "max_allowed_drawdown": MAX_DRAWDOWN,
             "stop_duration_candles": DRAWDOWN_LOCK_HORIZONS * int(horizon)}]


def hold_candles(horizon: int, hold_horizons: float) -> int:
    """Candles of the timeframe a trade is held before its time exit: `hold_horizons` times
    the horizon H (label_period_candles), at least 1; 0 when hold_horizons is 0 (no time
    exit). 4 at 1h with H = 4 and 1.0, 12 at 5m with H = 12."""
    if not hold_horizons > 0:
        return 0
    return max(1, round(float(hold_horizons) * int(horizon)))


def entry_signal_on(dataframe: pd.DataFrame) -> bool:
    """Whether the latest row of an analyzed dataframe carries an entry signal (`enter_long`
    1): the candle freqtrade reads a pair's entry signal from. False when empty or unsignalled."""
    if dataframe.empty or "enter_long" not in dataframe.columns:
        return False
    return bool(dataframe["enter_long"].iloc[-1] == 1)


def among_top(values: dict[str, float], pair: str, k: int) -> bool:
    """Whether `pair`'s value is among the `k` largest finite `values` (pair -> expected
    return at one candle; fewer than k pairs with a larger value). Always True for k <= 0;
    False when the pair has no finite value."""
    if k <= 0:
        return True
    mine = values.get(pair)
    if mine is None or not np.isfinite(mine):
        return False
    return sum(1 for v in values.values() if np.isfinite(v) and v > mine) < k


def round_trip(fee_per_side: float | None) -> float:
    """Entry plus exit fee for a fee per side (FALLBACK_FEE when none is known)."""
    return 2 * float(FALLBACK_FEE if fee_per_side is None else fee_per_side)


def calibration_candles(timeframe_s: int) -> int:
    """Candles of CALIBRATION_DAYS of the timeframe (336 at 1h, 4032 at 5m), at least
    4 * MIN_Z_CANDLES."""
    return max(4 * MIN_Z_CANDLES, CALIBRATION_DAYS * DAY_S // int(timeframe_s))


@dataclass(frozen=True)
class EntryRules:
    """The entry parameters (README "Trading rules"; the strategy's hyperoptable defaults).

    An entry needs `&-s_close` above the threshold (never below the round trip of fees), a
    usable prediction and a known market. The z-score, IC and fee (expected_return) filters
    are optional, off by default: on the 1h dev windows each removed more good entries than
    bad ones (docs/hourly.md "Where the entries come from")."""

    threshold: float = 0.003   # `&-s_close` above: Binance spot's 0.2 % round trip + margin
    z: float = 1.0             # prediction_z above (with use_entry_z)
    novelty_max: float = 2.5   # `&-novelty` below
    min_score_ic: float = 0.1  # scoreboard_ic at least, unknown does not block (use_score_ic)
    z_candles: int = Z_CANDLES
    # The round trip of fees (entry + exit; the strategy reads it from the config's `fee` or
    # the exchange's market): the least the threshold is, and what expected_return must clear
    # with use_expected_return. None: not known (neither rule).
    round_trip_fee: float | None = None
    fee_margin: float = 0.0    # expected_return must clear round_trip_fee plus this
    use_entry_z: bool = False          # the z-score filter
    use_score_ic: bool = False         # the rolling-IC filter
    use_expected_return: bool = False  # the fee rule on the calibrated expected return

    @property
    def floor(self) -> float:
        """What `&-s_close` must exceed: the threshold, or the round trip of fees if larger."""
        fee = self.round_trip_fee
        return self.threshold if fee is None else max(self.threshold, fee)


class OptionalFilter(NamedTuple):
    label: str  # the filter's name in entry_filters (and make demo's funnel)
    on: bool    # whether the rules switch it on


def optional_filters(rules: EntryRules) -> dict[str, OptionalFilter]:
    """The optional entry filters by switch (the strategy's parameter name)."""
    fee = "" if rules.round_trip_fee is None else f" {rules.round_trip_fee:g}"
    margin = f" + fee_margin {rules.fee_margin:g}" if rules.fee_margin else ""
    return {
        "use_entry_z": OptionalFilter(f"prediction z-score > entry_z {rules.z:g}",
                                      rules.use_entry_z),
        "use_score_ic": OptionalFilter(
            f"&-score_ic >= min_score_ic {rules.min_score_ic:g} (or not known yet)",
            rules.use_score_ic),
        "use_expected_return": OptionalFilter(f"expected_return > round-trip fee{fee}{margin}",
                                              rules.use_expected_return),
    }


def filters_off(rules: EntryRules) -> list[str]:
    """The optional filters `rules` switch off, as "name [switch]" (what `make demo` lists)."""
    return [f"{f.label} [{switch}]" for switch, f in optional_filters(rules).items()
            if not f.on]


def entry_filters(dataframe: pd.DataFrame, rules: EntryRules) -> dict[str, pd.Series]:
    """One boolean mask per entry rule, in the order of the README; a long entry needs all.
    The optional filters are left out unless switched on (EntryRules.use_*), and so are rules
    whose column the model does not provide (`&-novelty`, `&-score_ic`) and the fee rule
    without `expected_return` (calibrated_return, or `&-s_close` while not enough predictions
    have matured) or a `round_trip_fee`."""
    prediction = dataframe["&-s_close"]
    optional = optional_filters(rules)
    threshold = f"&-s_close > entry_threshold {rules.threshold:g}"
    if rules.floor > rules.threshold:
        threshold = f"&-s_close > round-trip fee {rules.floor:g} (above entry_threshold)"
    filters = {
        "do_predict == 1 and volume > 0": (dataframe["do_predict"] == 1)
        & (dataframe["volume"] > 0),
        threshold: prediction > rules.floor,
    }
    if rules.use_entry_z:
        filters[optional["use_entry_z"].label] = (
            prediction_z(dataframe, rules.z_candles) > rules.z)
    if "&-novelty" in dataframe.columns:
        filters[f"&-novelty < novelty_max {rules.novelty_max:g}"] = (
            dataframe["&-novelty"] < rules.novelty_max)
    if rules.use_score_ic and "&-score_ic" in dataframe.columns:
        filters[optional["use_score_ic"].label] = ~(
            scoreboard_ic(dataframe) < rules.min_score_ic)
    if (rules.use_expected_return and "expected_return" in dataframe.columns
            and rules.round_trip_fee is not None):
        filters[optional["use_expected_return"].label] = (
            dataframe["expected_return"] > rules.round_trip_fee + rules.fee_margin)
    return filters


def calibrated_return(dataframe: pd.DataFrame, horizon: int, candles: int) -> pd.Series:
    """`&-s_close` mapped to the return the model's own matured predictions realized: at row
    t, the least-squares line (slope >= 0) of the realized `&-s_close` target on the
    prediction, over the last `candles` usable predictions (do_predict == 1) whose target
    was known at t (made H = `horizon` observed candles or more before t), evaluated at the
    prediction of row t. NaN while fewer than `candles` // 4 have matured or on rows without
    a usable prediction. Runs over the observed candles (a filled row gets NaN)."""
    observed = observed_rows(dataframe)
    frame = dataframe.loc[observed]
    realized = pd.Series(observed_targets(frame[OHLCV].to_numpy(dtype=np.float64), horizon)[
        :, 0], index=frame.index)
    prediction = frame["&-s_close"].where(frame["do_predict"] == 1)
    x, y = prediction.shift(horizon), realized.shift(horizon)
    both = x.notna() & y.notna()
    x, y = x.where(both), y.where(both)
    window = {"window": candles, "min_periods": max(2, candles // 4)}
    mean_x, mean_y = x.rolling(**window).mean(), y.rolling(**window).mean()
    cov = (x * y).rolling(**window).mean() - mean_x * mean_y
    var = (x * x).rolling(**window).mean() - mean_x * mean_x
    slope = (cov / var.where(var > 0)).clip(lower=0.0)
    return (mean_y + slope * (prediction - mean_x)).reindex(dataframe.index)


def expected_return(dataframe: pd.DataFrame, horizon: int, candles: int) -> pd.Series:
    """What the fee rule compares: calibrated_return where it is known, else `&-s_close`
    (the model's in-sample calibrated return) on rows with a usable prediction."""
    raw = dataframe["&-s_close"].where(dataframe["do_predict"] == 1)
    return calibrated_return(dataframe, horizon, candles).fillna(raw)


def add_target_labels(dataframe: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """FreqAI's three labels (`&-s_close`, `&-liq_up`, `&-liq_down`) over the next `horizon`
    observed candles, added to `dataframe` in place (which is returned); rows that are not
    observed and the last `horizon` observed rows are NaN (features.observed_targets)."""
    values = observed_targets(dataframe[OHLCV].to_numpy(dtype=np.float64), horizon)
    for column, name in enumerate(TARGET_NAMES):
        dataframe[name] = values[:, column]
    return dataframe


def prediction_z(dataframe: pd.DataFrame, candles: int = Z_CANDLES) -> pd.Series:
    """z-score of `&-s_close` against its own last `candles` predictions (rows with
    do_predict == 1; the others are neither scored nor part of the distribution). Uses past
    rows only, so a signal never depends on later candles."""
    prediction = dataframe.loc[dataframe["do_predict"] == 1, "&-s_close"]
    recent = prediction.rolling(candles, min_periods=candles // 4)
    z = (prediction - recent.mean()) / recent.std().replace(0.0, np.nan)
    return z.reindex(dataframe.index)


PRICES = ["open", "high", "low", "close"]
# on_price_grid's tick: 10**-PRICE_DIGITS of the first close's leading power of ten (Binance
# quotes at most 8 significant digits; whole ticks stay exact floats up to 2**53, ~1e5 times
# the first close).
PRICE_DIGITS = 10


def on_price_grid(candles: pd.DataFrame) -> pd.DataFrame:
    """A copy of `candles` with open, high, low and close as whole numbers of one power-of-ten
    tick, 10**-PRICE_DIGITS of the first positive close's power of ten (0.33375 -> 33375000000
    at a tick of 1e-11). The same candles at any power-of-ten price level (PEPE's 1e-6 USDT,
    BTC's 1e5) give the same numbers, and differences of prices are exact: an indicator that
    compares them (ADX's +DM against -DM, MFI's typical price against the last one) sees a tie
    where the prices tie, not float noise that breaks it one way at one price level and the
    other way at another (0.33375 - 0.33265 and 0.33095 - 0.32985 differ in the last bit, and
    ADX(20) stayed 8 % apart for days). Ratios of the prices are unchanged; other columns are
    kept. Unchanged when no close is finite and positive."""
    close = candles["close"].to_numpy(dtype=np.float64)
    usable = np.isfinite(close) & (close > 0)
    if not usable.any():
        return candles
    tick = 10.0 ** (np.floor(np.log10(close[usable][0])) - PRICE_DIGITS)
    return candles.assign(**{c: np.round(candles[c].to_numpy(dtype=np.float64) / tick)
                             for c in PRICES})


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator with NaN instead of inf where the denominator is 0."""
    return numerator / denominator.replace(0.0, np.nan)


def band_position(close: pd.Series, lower: pd.Series, upper: pd.Series) -> pd.Series:
    """Where the close sits in its band (Bollinger %B): 0 at the lower band, 1 at the upper;
    0.5 where the band has no width (its closes all equal: a stablecoin, or a pair on a
    coarse tick, standing still), where close, middle and both bands coincide. A NaN instead
    would leave that candle without a prediction and out of every training. NaN while the
    band is (warm-up)."""
    width = upper - lower
    return ratio(close - lower, width).mask(width == 0, 0.5)


def observed_rows(dataframe: pd.DataFrame) -> np.ndarray:
    """Rows that are market observations (self_learning.candles.features.observed_candles): not the
    candles freqtrade filled for closed-market hours or outages, nor broken ones."""
    return observed_candles(dataframe[OHLCV].to_numpy(dtype=np.float64))


def over_observed(dataframe: pd.DataFrame,
                  compute: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """`compute(frame)` (which adds `%` columns) over the observed rows only, so indicators
    run over the sequence of real candles, like the model's windows. A filled row carries the
    previous observation's values, so FreqAI's shifted copies of the first candle after a
    weekend are finite too."""
    observed = observed_rows(dataframe)
    if observed.all():
        return compute(dataframe)
    part = compute(dataframe.loc[observed].copy())
    added = part[[c for c in part.columns if c not in dataframe.columns]]
    added = added.reindex(dataframe.index)
    filled_in = added.where(pd.Series(observed, index=dataframe.index), added.ffill(), axis=0)
    return pd.concat([dataframe, filled_in], axis=1)


def scoreboard_ic(dataframe: pd.DataFrame) -> pd.Series:
    """The model's rolling IC (`&-score_ic`), NaN where its scoreboard holds no matured
    prediction yet (or the model does not learn per candle). FreqAI's backtests hand the
    model's NaN back as 0 (data_kitchen.fill_predictions), so a row whose IC and hit-rate
    are both exactly 0 - which no filled scoreboard shows - counts as unknown too."""
    ic = dataframe["&-score_ic"]
    if "&-score_hit_rate" in dataframe.columns:
        ic = ic.mask((ic == 0.0) & (dataframe["&-score_hit_rate"] == 0.0))
    return ic


SCORE_COLUMNS = ("&-score_ic", "&-score_hit_rate", "&-score_band_up", "&-score_band_down")
CHART_DIGITS = 8  # significant digits of the chart levels (FreqUI prints every digit)


def scoreboard_or_nan(dataframe: pd.DataFrame) -> pd.DataFrame:
    """The scoreboard columns NaN where no matured prediction stands behind them yet
    (scoreboard_ic NaN, e.g. FreqAI's zero stand-ins): FreqUI draws no line there instead of
    a flat 0, and the IC filter reads them as unknown, as before. In place; returned."""
    if "&-score_ic" in dataframe.columns:
        unknown = scoreboard_ic(dataframe).isna()
        for column in SCORE_COLUMNS:
            if column in dataframe.columns:
                dataframe[column] = dataframe[column].mask(unknown)
    return dataframe


def band_levels(dataframe: pd.DataFrame) -> pd.DataFrame:
    """Price levels of the prediction for the chart: `band_high` / `band_low` = close times
    (1 + `&-liq_up` / `&-liq_down`), `predicted_close` = close times (1 + `&-s_close`), each
    known at its candle's close, to CHART_DIGITS significant digits; NaN where the row is not
    usable (do_predict != 1). Adds the columns to `dataframe` in place and returns it."""
    usable = dataframe["do_predict"] == 1 if "do_predict" in dataframe else False
    for level, column in (("band_high", "&-liq_up"), ("band_low", "&-liq_down"),
                          ("predicted_close", "&-s_close")):
        if column in dataframe.columns:
            price = dataframe["close"] * (1 + dataframe[column])
            dataframe[level] = pd.Series(significant(price.to_numpy(), CHART_DIGITS),
                                         index=dataframe.index).where(usable)
    return dataframe
