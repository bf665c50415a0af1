"""Sample preparation: a row's window, features and targets depend only on the observed
candles around it, so a live candle prepared with a short remembered context (CandleHistory)
gets exactly the values the whole series gives it; broken and no-trade candles and non-finite
features mark rows unusable and never leave NaN behind, and gaps (missing or filled candles)
do not break the windows around them."""

import numpy as np
import pytest
from synthetic import TIMEFRAME_S, planted_candles, weekend_filled_candles

from self_learning.candles import features as fx
from self_learning.candles.samples import (
    CandleHistory,
    Candles,
    SkipCounts,
    prepare,
    repeated_timestamps,
    skip_counts,
)

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
    """What `observe` feeds the step for candle r (its window and features) and for the
    observed candle H observations earlier (its matured targets) is identical, bit for bit,
    whether prepared from the whole series or from the W + H + 1 observed candles
    CandleHistory keeps."""
    candles = damaged(seed)
    full = prepare(candles, W, H, proxy=False)
    observed = np.flatnonzero(full.observed)
    history = CandleHistory(keep=W + H + 1)
    for r in range(W + H + 1, len(candles)):
        ctx, start = history.with_context(candles.rows(slice(r, r + 1)))
        part = prepare(ctx, W, H, proxy=False)
        history.remember(ctx, part.observed)
        if start < W + H or not full.observed[r]:
            continue  # still filling the history, or nothing to step
        matured = observed[np.searchsorted(observed, r) - H]
        for name in ("windows", "features", "input_ok"):
            np.testing.assert_array_equal(getattr(part, name)[start], getattr(full, name)[r])
        for name in ("targets", "target_ok"):
            np.testing.assert_array_equal(getattr(part, name)[start - H],
                                          getattr(full, name)[matured])


@pytest.mark.parametrize("seed", range(3))
def test_unusable_rows_are_zeros_and_usable_rows_finite(seed):
    s = prepare(damaged(seed), W, H)
    assert 0 < s.target_ok.sum() < s.input_ok.sum() < len(s.ts)
    assert not (s.target_ok & ~s.input_ok).any()
    for array in (s.windows, s.features, s.targets, s.proxy):
        assert array.dtype == np.float32 and np.isfinite(array).all()
    assert not s.windows[~s.input_ok].any() and not s.features[~s.input_ok].any()
    assert not s.targets[~s.target_ok].any()


@pytest.mark.parametrize("seed", range(3))
def test_targets_and_windows_follow_their_definitions(seed):
    """Targets look at the next H observed candles only (the strategy's column contract); a
    window ends with candle t's own log-return from the previous observed close, range and
    body. Checked on a column-major OHLCV array."""
    candles = damaged(seed)
    s = prepare(candles, W, H)
    o = np.ascontiguousarray(candles.ohlcv)
    observed = np.flatnonzero(fx.observed_candles(o))
    np.testing.assert_array_equal(s.observed[observed], True)
    for t in np.flatnonzero(s.target_ok):
        at = np.searchsorted(observed, t)
        ahead = observed[at + 1 : at + 1 + H]
        expected = [o[ahead, 3].mean() / o[t, 3] - 1, o[ahead, 1].max() / o[t, 3] - 1,
                    o[ahead, 2].min() / o[t, 3] - 1]
        np.testing.assert_allclose(s.targets[t], expected, rtol=1e-5, atol=1e-9)
    for t in np.flatnonzero(s.input_ok):
        before = observed[np.searchsorted(observed, t) - 1]
        last = s.windows[t, -4:-1]
        expected = [np.log(o[t, 3] / o[before, 3]), np.log(o[t, 1] / o[t, 2]),
                    np.log(o[t, 3] / o[t, 0])]
        np.testing.assert_allclose(last, expected, rtol=1e-5, atol=1e-9)


def test_weekend_filled_candles_are_skipped_without_breaking_windows():
    """Hourly candles with every weekend filled the way freqtrade fills it: each real candle
    from the W-th on has a window and features (so it can be predicted, Monday's first candle
    included), each one with H real candles after it has a target, and no filled candle is
    ever predicted or learned."""
    candles, filled = weekend_filled_candles(24 * 28, seed=3)
    s = prepare(candles, W, H)
    real = np.flatnonzero(~filled)
    np.testing.assert_array_equal(s.observed, ~filled)
    assert not (s.input_ok[filled].any() or s.target_ok[filled].any())
    np.testing.assert_array_equal(s.input_ok[real], np.arange(len(real)) >= W - 1)
    np.testing.assert_array_equal(s.target_ok[real], (np.arange(len(real)) >= W - 1)
                                  & (np.arange(len(real)) < len(real) - H))
    after_weekend = real[np.flatnonzero(np.diff(real) > 1) + 1]
    assert len(after_weekend) == 4 and s.input_ok[after_weekend].all()


def test_a_missing_timestamp_is_a_gap_not_a_break():
    """Candles missing from the series (no row at all) leave the neighbouring rows usable: the
    window of the candle after the gap is the W observed candles before it."""
    c = planted_candles(80, seed=2)
    ts = c.ts.copy()
    ts[40:] += TIMEFRAME_S * 7
    s = prepare(Candles(ts, c.ohlcv, c.features), W, H)
    full = prepare(c, W, H)
    for name in ("windows", "targets", "input_ok", "target_ok"):
        np.testing.assert_array_equal(getattr(s, name), getattr(full, name))


def test_skip_counts_name_each_reason():
    """Skipped rows are counted by reason: indicator warm-up (NaN features at the start),
    window warm-up, a later NaN feature, no-trade (filled) and broken candles; the counts add
    up to the rows that cannot be predicted."""
    c = planted_candles(120, seed=4)
    ohlcv, feats = c.ohlcv.copy(), c.features.copy()
    feats[:3, 1] = np.nan                 # indicator warm-up: rows 0..2
    feats[60, 0] = np.nan                 # a NaN feature later on
    ohlcv[70:73, :4] = ohlcv[69, 3]       # three filled candles
    ohlcv[70:73, 4] = 0.0
    ohlcv[90, 2] = ohlcv[90, 1] * 2       # broken: low above high
    block = Candles(c.ts, ohlcv, feats)
    s = prepare(block, W, H)
    counts = skip_counts(block, s, 0, W)
    assert counts == SkipCounts(indicator_warmup=3, window_warmup=W - 1 - 3, nan_feature=1,
                                no_trade=3, broken=1)
    assert counts.total == int((~s.input_ok).sum())
    assert counts.describe() == ("3 indicator warm-up, 4 window warm-up, 1 NaN feature, "
                                 "3 no-trade candles, 1 broken candle")
    assert SkipCounts().describe() == ""


@pytest.mark.parametrize("scale", [1e-5, 1e3])
def test_windows_are_the_same_at_any_price_level(scale):
    """The same candles quoted at `scale` times the price (volumes divided by it: the same
    money traded, e.g. PEPE's 1e-6 USDT prices and 1e12 volumes) give the same windows, also
    where volumes are small numbers (a few units of a dear coin) and one candle has none."""
    c = planted_candles(120, seed=5)
    ohlcv = c.ohlcv.copy()
    ohlcv[:, 4] = np.random.default_rng(5).lognormal(0.0, 1.0, len(ohlcv))  # ~1 unit a candle
    ohlcv[60, 4] = 0.0  # traded nothing, but the price moved: still an observation
    scaled = ohlcv.copy()
    scaled[:, :4] *= scale
    scaled[:, 4] /= scale
    first, second = (prepare(Candles(c.ts, o, c.features), W, H) for o in (ohlcv, scaled))
    np.testing.assert_array_equal(first.input_ok, second.input_ok)
    assert first.input_ok[60:60 + W].all()
    np.testing.assert_allclose(second.windows, first.windows, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second.targets, first.targets, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("scale", [1.0, 1e-5, 1e3])
def test_a_tie_is_no_move_at_any_price_level(scale):
    """The mean of the next closes equal to the close in decimals is a return of exactly 0 at
    every price level (float noise left 2e-16 at 1, 0 at 1e-5: a move up for the scoreboard's
    hit rate at one price level and none at another); real moves are kept."""
    closes = np.array([float(f"{c * scale:.12g}") for c in (0.3, 0.1, 0.5, 0.2, 0.4, 0.31)])
    ohlcv = np.stack([closes, closes * 1.001, closes * 0.999, closes, np.ones(6)], axis=1)
    out = fx.targets(ohlcv, 4)
    assert out[0, 0] == 0.0
    np.testing.assert_allclose(out[1, 0], (0.5 + 0.2 + 0.4 + 0.31) / 4 / 0.1 - 1, rtol=1e-9)


def test_exactly_a_window_of_candles_gives_the_last_row_its_window():
    """n == window: the last row has its full window (rows before are NaN); a window whose
    candles traded a range but no volume gets a zero volume channel, not NaN."""
    c = planted_candles(W, seed=5)
    channels = fx.candle_channels(c.ohlcv)
    windows = fx.market_windows(channels, W)
    assert np.isfinite(windows[-1]).all() and np.isnan(windows[:-1]).all()
    channels[:, 3] = 0.0
    volume = fx.market_windows(channels, W)[-1].reshape(W, fx.CHANNELS)[:, 3]
    np.testing.assert_array_equal(volume, np.zeros(W))


def test_trailing_excursions_look_back_from_the_rows_close():
    """The self-supervised proxy of row t: the mean close, max high and min low of candles
    t-H+1..t relative to close[t]; NaN before H candles."""
    c = planted_candles(30, seed=6)
    got = fx.trailing_excursions(c.ohlcv, H)
    assert np.isnan(got[: H - 1]).all()
    for t in range(H - 1, 30):
        past, close = c.ohlcv[t - H + 1 : t + 1], c.ohlcv[t, 3]
        want = [past[:, 3].mean() / close - 1, past[:, 1].max() / close - 1,
                past[:, 2].min() / close - 1]
        np.testing.assert_allclose(got[t], want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("column,value,broken", [
    (3, 0.0, True), (0, -1.0, True), (4, 0.0, False), (4, -1.0, True), (1, 1e39, True),
    (4, 1e39, True), (4, 3e38, False)])
def test_broken_candles_from_a_table(column, value, broken):
    """A price <= 0, a negative volume or a value beyond float32's range is broken; zero
    volume is not (a no-trade candle when its range is 0 too)."""
    ohlcv = np.array([[10.0, 11.0, 9.0, 10.5, 100.0]])
    ohlcv[0, column] = value
    assert bool(fx.broken_candles(ohlcv)[0]) is broken


def test_a_repeated_or_backward_timestamp_is_stepped_once():
    """A row whose timestamp is not later than every earlier row's is a repeat: equal to the
    previous one, or behind an earlier one though later than the previous (out of order)."""
    ts = np.array([0, 300, 300, 900, 600, 750, 1200])
    np.testing.assert_array_equal(repeated_timestamps(ts), [0, 0, 1, 0, 1, 1, 0])
    c = planted_candles(40, seed=7)
    dup = c.ts.copy()
    dup[20] = dup[19]
    s = prepare(Candles(dup, c.ohlcv, c.features), W, H)
    assert not s.observed[20] and not s.input_ok[20] and s.input_ok[21]
    assert skip_counts(Candles(dup, c.ohlcv, c.features), s, 0, W).duplicate == 1


def test_a_broken_candle_at_a_repeated_timestamp_counts_once_as_broken():
    c = planted_candles(40, seed=8)
    ts, ohlcv = c.ts.copy(), c.ohlcv.copy()
    ts[20], ohlcv[20, 1] = ts[19], np.nan
    block = Candles(ts, ohlcv, c.features)
    s = prepare(block, W, H)
    counts = skip_counts(block, s, 0, W)
    assert (counts.broken, counts.duplicate) == (1, 0)
    assert counts.total == int((~s.input_ok).sum())


def test_a_nan_feature_on_the_first_row_with_a_full_window_is_a_nan_feature():
    """Row W-1 is the first with W observed candles: a NaN feature there is not warm-up."""
    c = planted_candles(40, seed=9)
    feats = c.features.copy()
    feats[W - 1, 0] = np.nan
    block = Candles(c.ts, c.ohlcv, feats)
    counts = skip_counts(block, prepare(block, W, H), 0, W)
    assert (counts.window_warmup, counts.nan_feature) == (W - 1, 1)


def test_context_holds_only_candles_older_than_the_block():
    """A block that repeats the newest remembered candle (a re-sent candle) gets the context
    before it, so its first row is still a candle to step."""
    c = planted_candles(60, seed=10)
    history = CandleHistory(keep=30)
    history.remember(c.rows(slice(0, 40)), np.ones(40, bool))
    combined, start = history.with_context(c.rows(slice(39, 60)))
    assert start == 29 and combined.ts[start] == c.ts[39]
    assert not repeated_timestamps(combined.ts).any()


def test_candles_refuse_arrays_of_different_lengths():
    c = planted_candles(10, seed=11)
    with pytest.raises(ValueError, match="Candles arrays disagree"):
        Candles(c.ts[:9], c.ohlcv, c.features)
