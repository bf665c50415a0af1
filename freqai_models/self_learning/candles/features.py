"""Pure numeric helpers: market windows, targets, signal quality, sample validation.

Nothing here touches TensorFlow, files or freqtrade; every function maps arrays to arrays.
OHLCV arrays are float64 of shape (n, 5) with columns open, high, low, close, volume.
"""

from __future__ import annotations

import numpy as np

OHLCV = ["open", "high", "low", "close", "volume"]  # the columns of an OHLCV array
CHANNELS = 4  # log-return, log range, log body, volume (log, relative to its window)
OPEN, HIGH, LOW, CLOSE, VOLUME = range(5)
# The volume channel is log(volume + VOLUME_FLOOR * the window's mean volume), centred on the
# window: a candle with (almost) no volume sits ~7 below a typical one, whatever the units.
VOLUME_FLOOR = 1e-3
# The networks compute in float32: a value beyond its range becomes inf there (and NaN in the
# weights it touches), so such candles and features are treated like non-finite ones.
F32_MAX = float(np.finfo(np.float32).max)
TARGET_NAMES = ("&-s_close", "&-liq_up", "&-liq_down")
# A return smaller than this is the float noise of a tie, 0: prices are quoted with at most
# ~8 significant digits, so a real move is ~1e-8 or more, while the mean of 0.1, 0.5, 0.2 and
# 0.4 over a close of 0.3 comes out 2e-16, and 0 at 1e-5 times the prices (the scoreboard's
# hit rate counts only moves, by their sign).
TIE_NOISE = 1e-12


def candle_channels(ohlcv: np.ndarray) -> np.ndarray:
    """Per-candle channels (n, 4): the scale-free log-return (row 0: zero), log range and log
    body, and the volume (negatives as 0), which market_windows makes relative to its window."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        close = ohlcv[:, CLOSE]
        log_ret = np.zeros(len(ohlcv))
        log_ret[1:] = np.log(close[1:] / close[:-1])
        log_range = np.log(ohlcv[:, HIGH] / ohlcv[:, LOW])
        log_body = np.log(close / ohlcv[:, OPEN])
    return np.stack([log_ret, log_range, log_body, np.maximum(ohlcv[:, VOLUME], 0.0)], axis=1)


def market_windows(channels: np.ndarray, window: int) -> np.ndarray:
    """Row t holds candles t-window+1..t flattened (n, window*4); rows without history are NaN.

    The volume channel becomes log(volume + VOLUME_FLOOR * the window's mean volume) centred
    on the window's mean: only relative volume counts, so the same market quoted at another
    price level (volumes in other units) gives the same windows. A window without volume
    gets zeros.
    """
    n = len(channels)
    out = np.full((n, window * CHANNELS), np.nan)
    if n < window:
        return out
    view = _rolling(channels, window).copy()  # (n - window + 1, window, CHANNELS)
    volume = view[:, :, 3]
    floor = VOLUME_FLOOR * volume.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_vol = np.log(volume + floor)
        centred = log_vol - log_vol.mean(axis=1, keepdims=True)
    view[:, :, 3] = np.where(floor > 0, centred, np.where(np.isnan(floor), np.nan, 0.0))
    out[window - 1 :] = view.reshape(len(view), window * CHANNELS)
    return out


def targets(ohlcv: np.ndarray, horizon: int) -> np.ndarray:
    """(n, 3): mean future close return, max upward and min downward excursion over `horizon`,
    the columns of TARGET_NAMES; the last `horizon` rows are NaN. The one formula of the
    targets: the model (samples.prepare, over the observed rows), the strategy's
    `set_freqai_targets` and the quality benchmark (evaluation.realized_targets, both through
    `observed_targets`) use it."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    n = len(ohlcv)
    out = np.full((n, 3), np.nan)
    if n <= horizon:
        return out
    # One strided view of the next `horizon` candles of every row (no copies): per-call
    # overhead, not arithmetic, is what a live candle's preparation costs.
    out[: n - horizon] = _excursions(_rolling(ohlcv[1:], horizon), ohlcv[: n - horizon, CLOSE])
    return out


def observed_targets(ohlcv: np.ndarray, horizon: int) -> np.ndarray:
    """(n, 3) `targets` over the observed candles only (`observed_candles`): row t looks at
    the next `horizon` observed candles; rows that are not observations are NaN."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    observed = observed_candles(ohlcv)
    if observed.all():
        return targets(ohlcv, horizon)
    out = np.full((len(ohlcv), 3), np.nan)
    out[observed] = targets(ohlcv[observed], horizon)
    return out


def _excursions(candles: np.ndarray, close: np.ndarray) -> np.ndarray:
    """(m, 3) mean close, max high and min low of each row's candles (m, length, 5), relative
    to that row's `close`; below TIE_NOISE in size, 0 (see there)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.stack([candles[:, :, CLOSE].mean(axis=1) / close - 1.0,
                        candles[:, :, HIGH].max(axis=1) / close - 1.0,
                        candles[:, :, LOW].min(axis=1) / close - 1.0], axis=1)
    return np.where(np.abs(out) < TIE_NOISE, 0.0, out)


def _rolling(rows: np.ndarray, length: int) -> np.ndarray:
    """Read-only view (len(rows) - length + 1, length, columns) of consecutive rows."""
    count = len(rows) - length + 1
    step = rows.strides[0]
    return np.lib.stride_tricks.as_strided(rows, (count, length, rows.shape[1]),
                                           (step, step, rows.strides[1]), writeable=False)


def trailing_excursions(ohlcv: np.ndarray, horizon: int) -> np.ndarray:
    """(n, 3) self-supervised proxy targets known at t: the last `horizon` candles' mean close,
    max high and min low relative to close[t]. Used for rows whose future is not known yet."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    n = len(ohlcv)
    out = np.full((n, 3), np.nan)
    if n < horizon:
        return out
    out[horizon - 1 :] = _excursions(_rolling(ohlcv, horizon), ohlcv[horizon - 1 :, CLOSE])
    return out


def representable(values: np.ndarray) -> np.ndarray:
    """Per row: every value finite and within float32's range (what the networks compute in);
    False for NaN, inf and e.g. a price of 1e39."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (np.abs(values) <= F32_MAX).all(axis=1)


def broken_candles(ohlcv: np.ndarray) -> np.ndarray:
    """True where a candle's values are impossible: non-finite or beyond float32's range, a
    price <= 0, a negative volume or high < low."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    finite = representable(ohlcv)
    with np.errstate(invalid="ignore"):
        positive = (ohlcv[:, :4] > 0).all(axis=1) & (ohlcv[:, VOLUME] >= 0)
        ordered = ohlcv[:, HIGH] >= ohlcv[:, LOW]
    return ~(finite & positive & ordered)


def no_trade_candles(ohlcv: np.ndarray) -> np.ndarray:
    """True where nothing traded: high == low with zero volume. That is how freqtrade fills a
    missing candle (open = high = low = close = the previous close, volume 0; closed-market
    hours, exchange outages) and how a market without trades looks."""
    ohlcv = np.asarray(ohlcv, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (ohlcv[:, HIGH] == ohlcv[:, LOW]) & (ohlcv[:, VOLUME] == 0)


def observed_candles(ohlcv: np.ndarray) -> np.ndarray:
    """True where a candle is a market observation: not broken and something traded. Windows
    and targets run over observed candles only; the others are neither predicted nor learned
    and never break a window (samples.prepare)."""
    return ~broken_candles(ohlcv) & ~no_trade_candles(ohlcv)
