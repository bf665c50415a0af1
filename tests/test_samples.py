"""Sample preparation: a row's window, features and targets depend only on the candles around
it, so a live candle prepared with a short remembered context (CandleHistory) gets exactly
the values the whole series gives it; broken candles, gaps and non-finite features mark rows
unusable and never leave NaN behind."""

import numpy as np
import pytest
from synthetic import TIMEFRAME_S, planted_candles

from self_learning.samples import CandleHistory, Candles, prepare

W, H = 8, 4


def damaged(seed: int) -> Candles:
    """Planted candles with every kind of defect at random places (and a non-contiguous
    OHLCV array, as a column-selected frame gives)."""
    rng = np.random.default_rng(seed)
    c = planted_candles(160, seed=seed)
    ohlcv = np.asfortranarray(c.ohlcv.copy())
    feats, ts = c.features.copy(), c.ts.copy()
    for k in rng.choice(np.arange(5, 150), size=8, replace=False):
        kind = k % 5
        if kind == 0:
            ohlcv[k, rng.integers(0, 5)] = np.nan
        elif kind == 1:  # frozen market
            ohlcv[k, :4], ohlcv[k, 4] = ohlcv[k, 3], 0.0
        elif kind == 2:
            ts[k:] += TIMEFRAME_S * 3  # gap
        elif kind == 3:
            ohlcv[k, 1] = np.inf
        else:
            feats[k, rng.integers(0, feats.shape[1])] = np.nan
    return Candles(ts, ohlcv, feats)


@pytest.mark.parametrize("seed", range(6))
def test_context_prepares_the_rows_the_step_needs_as_the_whole_series(seed):
    """What `observe` feeds the step for candle r (its window and features) and for r - H
    (its matured targets) is identical, bit for bit, whether prepared from the whole series
    or from the W + H + 1 candles CandleHistory keeps."""
    candles = damaged(seed)
    full = prepare(candles, W, H, TIMEFRAME_S, proxy=False)
    history = CandleHistory(keep=W + H + 1)
    for r in range(W + H + 1, len(candles)):
        ctx, start = history.with_context(candles.rows(slice(r, r + 1)))
        history.remember(ctx)
        if start < W + H:
            continue  # still filling the history
        part = prepare(ctx, W, H, TIMEFRAME_S, proxy=False)
        for name in ("windows", "features", "input_ok"):
            np.testing.assert_array_equal(getattr(part, name)[start], getattr(full, name)[r])
        for name in ("targets", "target_ok"):
            np.testing.assert_array_equal(getattr(part, name)[start - H],
                                          getattr(full, name)[r - H])


@pytest.mark.parametrize("seed", range(3))
def test_unusable_rows_are_zeros_and_usable_rows_finite(seed):
    s = prepare(damaged(seed), W, H, TIMEFRAME_S)
    assert 0 < s.target_ok.sum() < s.input_ok.sum() < len(s.ts)
    assert not (s.target_ok & ~s.input_ok).any()
    for array in (s.windows, s.features, s.targets, s.proxy):
        assert array.dtype == np.float32 and np.isfinite(array).all()
    assert not s.windows[~s.input_ok].any() and not s.features[~s.input_ok].any()
    assert not s.targets[~s.target_ok].any()


@pytest.mark.parametrize("seed", range(3))
def test_targets_and_windows_follow_their_definitions(seed):
    """Targets look at candles t+1..t+H only (the strategy's column contract); a window ends
    with candle t's own log-return, range and body. Checked on a column-major OHLCV array."""
    candles = damaged(seed)
    s = prepare(candles, W, H, TIMEFRAME_S)
    o = np.ascontiguousarray(candles.ohlcv)
    for t in np.flatnonzero(s.target_ok):
        ahead = slice(t + 1, t + 1 + H)
        expected = [o[ahead, 3].mean() / o[t, 3] - 1, o[ahead, 1].max() / o[t, 3] - 1,
                    o[ahead, 2].min() / o[t, 3] - 1]
        np.testing.assert_allclose(s.targets[t], expected, rtol=1e-5, atol=1e-9)
    for t in np.flatnonzero(s.input_ok):
        last = s.windows[t, -4:-1]
        expected = [np.log(o[t, 3] / o[t - 1, 3]), np.log(o[t, 1] / o[t, 2]),
                    np.log(o[t, 3] / o[t, 0])]
        np.testing.assert_allclose(last, expected, rtol=1e-5, atol=1e-9)
