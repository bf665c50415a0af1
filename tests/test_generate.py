"""Seeded market generator: determinism, freqtrade layout, OHLC consistency, stylised facts."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from self_learning.reports.evaluation import naive_signal, realized_targets, spearman_ic
from self_learning_offline.market import (
    EdgeEmerge,
    EdgeFade,
    EdgeFlip,
    EdgeGlide,
    EdgeReverse,
    MeanReversion,
    RandomWalk,
    VolatilityShock,
    generate_candles,
)
from self_learning_offline.market.__main__ import main
from self_learning_offline.market.scenario import Scenario

START = datetime(2025, 1, 1, tzinfo=UTC)
PRICE_COLUMNS = ["open", "high", "low", "close"]


@pytest.fixture(scope="module")
def month_5m() -> pd.DataFrame:
    """30 days of BTC/USDT 5m candles (8640 rows)."""
    return generate_candles("BTC/USDT", "5m", START, 30 * 288, seed=42)


def eight_days_5m(pair: str, scenario: Scenario | None = None) -> pd.DataFrame:
    """Eight days of `pair`'s 5m candles from START, seed 42: the market the scenario tests
    measure the yardstick on."""
    return generate_candles(pair, "5m", START, 8 * 288, seed=42, scenario=scenario)


def returns(frame: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


def autocorrelation(values: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(values[:-lag], values[lag:])[0, 1])


def test_same_seed_same_frame_other_seed_differs():
    """generate_candles is a pure function of its arguments; the seed changes the market."""
    first = generate_candles("ETH/USDT", "15m", START, 500, seed=1)
    again = generate_candles("ETH/USDT", "15m", START, 500, seed=1)
    other = generate_candles("ETH/USDT", "15m", START, 500, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["close"], other["close"])


def test_cli_output_is_byte_identical(tmp_path):
    """Two CLI runs with the same arguments write byte-identical freqtrade feather files."""
    args = ["--pairs", "BTC/USDT", "ETH/BTC", "--timeframe", "5m", "1h", "--days", "3",
            "--seed", "42", "--end", "20250114"]
    assert main(["--out", str(tmp_path / "a"), *args]) == 0
    assert main(["--out", str(tmp_path / "b"), *args]) == 0
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert names == ["BTC_USDT-1h.feather", "BTC_USDT-5m.feather", "ETH_BTC-1h.feather",
                     "ETH_BTC-5m.feather"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    frame = pd.read_feather(tmp_path / "a" / "BTC_USDT-5m.feather")
    assert frame["date"].iloc[0] == pd.Timestamp("2025-01-11", tz="UTC")
    assert frame["date"].iloc[-1] == pd.Timestamp("2025-01-13 23:55", tz="UTC")


def test_freqtrade_layout_sorted_without_gaps(month_5m):
    """Columns, dtypes, UTC dates on the 5m grid, sorted, no gaps, no NaN."""
    assert list(month_5m.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(month_5m["date"].dt.tz) == "UTC"
    assert all(month_5m[column].dtype == np.float64 for column in month_5m.columns[1:])
    assert (month_5m["date"].diff().dropna() == pd.Timedelta(minutes=5)).all()
    assert month_5m["date"].iloc[0] == pd.Timestamp(START)
    assert not month_5m.isna().any().any()


def test_ohlc_consistent_and_volume_positive(month_5m):
    """high >= max(open, close), low <= min(open, close), prices and volume > 0."""
    frame = month_5m
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame[PRICE_COLUMNS] > 0).all().all()
    assert (frame["volume"] > 0).all()
    assert (frame["high"] > frame["low"]).mean() > 0.99


def test_heavy_tails_and_volatility_clustering(month_5m):
    """Excess kurtosis well above a Gaussian's; |returns| autocorrelated, returns nearly not."""
    r = returns(month_5m)
    standardized = (r - r.mean()) / r.std()
    assert np.mean(standardized**4) - 3 > 2.0
    assert autocorrelation(np.abs(r), 1) > 0.15
    assert autocorrelation(np.abs(r), 12) > 0.05
    assert abs(autocorrelation(r, 1)) < 0.1
    daily_vol = r.std() * np.sqrt(288)
    assert 0.01 < daily_vol < 0.08


def test_volume_follows_activity_and_time_of_day(month_5m):
    """Volume rises with the size of the move and peaks in the UTC afternoon."""
    r = np.abs(returns(month_5m))
    assert np.corrcoef(month_5m["volume"].to_numpy()[1:], r)[0, 1] > 0.3
    by_hour = month_5m.groupby(month_5m["date"].dt.hour)["volume"].mean()
    assert by_hour.loc[13:17].mean() > 1.5 * by_hour.loc[[1, 2, 3, 4, 5]].mean()


def test_timeframes_describe_the_same_market():
    """1h candles equal 5m candles of the same pair/seed/start aggregated per hour."""
    five = generate_candles("SOL/USDT", "5m", START, 24 * 12 * 2, seed=3).set_index("date")
    hour = generate_candles("SOL/USDT", "1h", START, 48, seed=3).set_index("date")
    resampled = five.resample("1h").agg({"open": "first", "high": "max", "low": "min",
                                         "close": "last", "volume": "sum"})
    pd.testing.assert_frame_equal(resampled[PRICE_COLUMNS], hour[PRICE_COLUMNS],
                                  check_freq=False)
    np.testing.assert_allclose(resampled["volume"], hour["volume"], rtol=1e-6)


def test_longer_series_extends_the_shorter():
    """More periods append candles; the earlier ones do not change."""
    short = generate_candles("BTC/USDT", "5m", START, 300, seed=9)
    long = generate_candles("BTC/USDT", "5m", START, 900, seed=9)
    pd.testing.assert_frame_equal(short, long.iloc[:300])


def test_regimes_trend_both_ways():
    """Over a year of daily closes both rising and falling 10-day stretches occur."""
    daily = generate_candles("ETH/USDT", "1d", START, 365, seed=5)
    ten_day = daily["close"].pct_change(10).dropna()
    assert ten_day.max() > 0.08 and ten_day.min() < -0.08


FLIP_PAIRS = ["ETH/BTC", "LTC/BTC", "ADA/BTC"]
FLIP = EdgeFlip(datetime(2025, 1, 5, tzinfo=UTC))  # day 4 of 8


def yardstick_ic(frame: pd.DataFrame) -> float:
    """IC of -(close / SMA20 - 1) against the realized 1-hour target of 5m candles."""
    target = realized_targets(frame, 12)["&-s_close"].to_numpy()
    signal = naive_signal(frame["close"].to_numpy())
    usable = np.isfinite(target) & np.isfinite(signal)
    return spearman_ic(signal[usable], target[usable])


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_flip_scenario_edge_changes_sign_at_the_flip(pair):
    """In the flip scenario the mean-reversion yardstick has a clearly positive IC on the 5m
    candles before the flip and a clearly negative one after it, for every pair."""
    frame = eight_days_5m(pair, FLIP)
    before = frame[frame["date"] < pd.Timestamp(FLIP.flip_at)]
    after = frame[frame["date"] >= pd.Timestamp(FLIP.flip_at)]
    assert yardstick_ic(before) > 0.1
    assert yardstick_ic(after) < -0.1


def test_flip_scenario_is_seeded_and_pure():
    """Same arguments, same frame; the candles before a flip do not depend on the flip date
    (a later flip only changes what comes after the earlier one)."""
    first = generate_candles("ETH/BTC", "5m", START, 6 * 288, seed=3, scenario=FLIP)
    again = generate_candles("ETH/BTC", "5m", START, 6 * 288, seed=3, scenario=FLIP)
    later = generate_candles("ETH/BTC", "5m", START, 6 * 288, seed=3,
                             scenario=EdgeFlip(datetime(2025, 1, 6, tzinfo=UTC)))
    pd.testing.assert_frame_equal(first, again)
    flip = first["date"] < pd.Timestamp(FLIP.flip_at)
    pd.testing.assert_frame_equal(first[flip], later[flip])
    assert not np.allclose(first.loc[~flip, "close"], later.loc[~flip, "close"])
    ohlc_ok = (first["high"] >= first[["open", "close"]].max(axis=1)) & (
        first["low"] <= first[["open", "close"]].min(axis=1))
    assert ohlc_ok.all()


def test_cli_mean_reversion_minutes_sets_the_time_scale(tmp_path):
    args = ["--pairs", "ETH/BTC", "--timeframe", "1h", "--days", "2", "--seed", "42",
            "--end", "20250103"]
    assert main(["--out", str(tmp_path), *args, "--mean-reversion", "720"]) == 0
    written = pd.read_feather(tmp_path / "ETH_BTC-1h.feather")
    want = generate_candles("ETH/BTC", "1h", START, 2 * 24, seed=42,
                            scenario=MeanReversion.over(720))
    pd.testing.assert_frame_equal(written, want)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"flip_at": datetime(2025, 1, 5)}, "timezone-aware"),
    ({"flip_at": START, "strength": 0.05}, "strength 0.05 must be in"),
])
def test_edge_flip_rejects_bad_arguments(kwargs, match):
    """A naive flip date and a push strong enough to explode are refused by name."""
    with pytest.raises(ValueError, match=match):
        EdgeFlip(**kwargs)


def test_cli_flip_day_writes_the_scenario(tmp_path):
    """--flip-day N flips the edge at 00:00 UTC of day N of the generated days."""
    args = ["--pairs", "ETH/BTC", "--days", "6", "--seed", "42", "--end", "20250107"]
    assert main(["--out", str(tmp_path), *args, "--flip-day", "3"]) == 0
    written = pd.read_feather(tmp_path / "ETH_BTC-5m.feather")
    want = generate_candles("ETH/BTC", "5m", START, 6 * 288, seed=42,
                            scenario=EdgeFlip(datetime(2025, 1, 4, tzinfo=UTC)))
    pd.testing.assert_frame_equal(written, want)


def best_gap_return(frame: pd.DataFrame) -> float:
    """Mean realized 1-hour target of the 5 % of 5m candles furthest below the price's
    one-hour exponential average (the gap MeanReversion pulls back)."""
    target = realized_targets(frame, 12)["&-s_close"].to_numpy()
    gap = -(frame["close"] / frame["close"].ewm(span=12).mean() - 1).to_numpy()
    usable = np.isfinite(target)
    best = gap[usable] >= np.quantile(gap[usable], 0.95)
    return float(target[usable][best].mean())


@pytest.mark.parametrize("pair", ["BTC/USDT", "ETH/USDT"])
def test_mean_reversion_plants_an_edge_the_yardstick_sees(pair):
    """The demo market (`--mean-reversion`): the mean-reversion yardstick predicts it (on the
    plain market of the same seed it does not)."""
    planted = eight_days_5m(pair, MeanReversion())
    plain = eight_days_5m(pair)
    assert yardstick_ic(planted) > 0.2
    assert abs(yardstick_ic(plain)) < 0.1


def test_mean_reversion_best_candles_clear_the_round_trip_fee():
    """BTC/USDT's best 5 % of candles by the planted gap realize more than Binance's 0.2 %
    round trip over the next hour (ETH/USDT's, more volatile, about +0.15 %)."""
    planted = eight_days_5m("BTC/USDT", MeanReversion())
    assert best_gap_return(planted) > 0.002


def hourly_gap_stats(frame: pd.DataFrame) -> tuple[float, float]:
    """1h candles at H = 4 (config.json's setup): the yardstick's IC, and the mean realized
    target of the 5 % of candles furthest below their 12-candle exponential average."""
    target = realized_targets(frame, 4)["&-s_close"].to_numpy()
    signal = naive_signal(frame["close"].to_numpy())
    usable = np.isfinite(target) & np.isfinite(signal)
    gap = -(frame["close"] / frame["close"].ewm(span=12).mean() - 1).to_numpy()[usable]
    best = gap >= np.quantile(gap, 0.95)
    return spearman_ic(signal[usable], target[usable]), float(target[usable][best].mean())


def test_over_60_minutes_is_the_5m_demo_market():
    assert MeanReversion.over(60) == MeanReversion()
    assert MeanReversion.over(720) == MeanReversion(strength=0.03 * 60 / 720,
                                                    average_minutes=720.0)


@pytest.mark.parametrize("pair", ["BTC/USDT", "ETH/USDT"])
def test_mean_reversion_over_12_hours_plants_an_edge_in_1h_candles(pair):
    """`make demo`'s market (`--mean-reversion 720`): at 1h and H = 4 the yardstick sees the
    edge (about +0.3), and BTC/USDT's best candles by the gap clear the 0.2 % round trip
    (about +0.35 %); the one-hour pull of the 5m demo market is too short-lived for 1h candles:
    its best candles realize less than the fees."""
    hourly = generate_candles(pair, "1h", START, 60 * 24, seed=42,
                              scenario=MeanReversion.over(720))
    ic, best = hourly_gap_stats(hourly)
    assert ic > 0.2
    if pair == "BTC/USDT":
        assert best > 0.002
    one_hour = generate_candles(pair, "1h", START, 60 * 24, seed=42, scenario=MeanReversion())
    assert hourly_gap_stats(one_hour)[1] < 0.002


def test_mean_reversion_rejects_a_pull_beyond_the_gap():
    with pytest.raises(ValueError, match="strength 1.5 must be in"):
        MeanReversion(strength=1.5)


def test_cli_mean_reversion_writes_the_scenario(tmp_path):
    args = ["--pairs", "ETH/BTC", "--days", "2", "--seed", "42", "--end", "20250103"]
    assert main(["--out", str(tmp_path), *args, "--mean-reversion"]) == 0
    written = pd.read_feather(tmp_path / "ETH_BTC-5m.feather")
    want = generate_candles("ETH/BTC", "5m", START, 2 * 288, seed=42, scenario=MeanReversion())
    pd.testing.assert_frame_equal(written, want)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"pair": "BTCUSDT"}, "pair"),
    ({"timeframe": "30s"}, "timeframe"),
    ({"periods": 0}, "periods"),
    ({"start": datetime(2025, 1, 1, 0, 3, tzinfo=UTC)}, "grid"),
])
def test_generate_candles_rejects_bad_arguments(kwargs, match):
    """Bad arguments raise ValueError naming what is wrong."""
    arguments = {"pair": "BTC/USDT", "timeframe": "5m", "start": START, "periods": 10, "seed": 1}
    with pytest.raises(ValueError, match=match):
        generate_candles(**{**arguments, **kwargs})


@pytest.mark.parametrize(("args", "flag"), [
    (["--pairs", "BTCUSDT"], "--pairs"),
    (["--pairs", "BTC/USDT", "--timeframe", "30s"], "--timeframe"),
    (["--pairs", "BTC/USDT", "--days", "0"], "--days"),
    (["--pairs", "BTC/USDT", "--seed", "-1"], "--seed"),
    (["--pairs", "BTC/USDT", "--end", "2025-01-14"], "--end"),
    (["--pairs", "BTC/USDT", "--days", "3", "--flip-day", "3"], "--flip-day"),
    (["--pairs", "BTC/USDT", "--flip-day", "x"], "--flip-day"),
    (["--pairs", "BTC/USDT", "--flip-day", "1", "--mean-reversion"], "--mean-reversion"),
    (["--pairs", "BTC/USDT", "--mean-reversion", "0"], "--mean-reversion"),
])
def test_cli_bad_args_name_the_flag(tmp_path, capsys, args, flag):
    """Invalid CLI arguments exit with code 2 and a message naming the offending flag."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err


CHANGE_AT = FLIP.flip_at  # day 4 of 8, as in the flip tests


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    after = frame["date"] >= pd.Timestamp(CHANGE_AT)
    return frame[~after], frame[after]


def minutes_around_change(before: int, periods: int) -> pd.DatetimeIndex:
    """`periods` one-minute stamps, the first `before` minutes ahead of CHANGE_AT."""
    return pd.date_range(pd.Timestamp(CHANGE_AT) - pd.Timedelta(minutes=before),
                         periods=periods, freq="1min")


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_fade_scenario_edge_vanishes_at_the_fade(pair):
    """The yardstick's IC on 5m candles is clearly positive before the fade and about 0 after
    it, where the market moves as the random walk of the same seed (up to the tick)."""
    frame = eight_days_5m(pair, EdgeFade(CHANGE_AT))
    walk = eight_days_5m(pair, RandomWalk())
    before, after = split(frame)
    assert yardstick_ic(before) > 0.1
    assert abs(yardstick_ic(after)) < 0.1
    assert np.corrcoef(returns(after), returns(split(walk)[1]))[0, 1] > 0.999


def test_emerge_scenario_edge_is_zero_then_the_pull():
    """EdgeEmerge's per-minute coefficient is 0 before `emerge_at` and -strength from that
    minute on."""
    emerge = EdgeEmerge(CHANGE_AT, strength=0.01)
    np.testing.assert_array_equal(emerge.edge(minutes_around_change(2, 4)),
                                  [0.0, 0.0, -0.01, -0.01])


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_emerge_scenario_edge_appears_at_the_emergence(pair):
    """Before the emergence the market is the random walk of the same seed, candle for candle
    (the yardstick's IC about 0); after it the yardstick's IC is clearly positive."""
    frame = eight_days_5m(pair, EdgeEmerge(CHANGE_AT))
    walk = eight_days_5m(pair, RandomWalk())
    before, after = split(frame)
    pd.testing.assert_frame_equal(before, split(walk)[0])
    assert abs(yardstick_ic(before)) < 0.1
    assert yardstick_ic(after) > 0.1


def test_reverse_scenario_edge_is_the_push_then_the_pull():
    """EdgeReverse's per-minute coefficient is +strength (trend following) before
    `reverse_at` and -strength (mean reversion) from that minute on."""
    reverse = EdgeReverse(CHANGE_AT, strength=0.01)
    np.testing.assert_array_equal(reverse.edge(minutes_around_change(2, 4)),
                                  [0.01, 0.01, -0.01, -0.01])


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_reverse_scenario_trend_then_mean_reversion(pair):
    """The yardstick's IC on 5m candles is clearly negative before the reversal (trend
    following) and clearly positive after it."""
    frame = eight_days_5m(pair, EdgeReverse(CHANGE_AT))
    before, after = split(frame)
    assert yardstick_ic(before) < -0.1
    assert yardstick_ic(after) > 0.1


def test_glide_scenario_edge_is_a_straight_line():
    """EdgeGlide's per-minute coefficient is -strength until `days` before `glide_end`,
    moves linearly to +strength, and stays there from `glide_end` on."""
    glide = EdgeGlide(CHANGE_AT, strength=0.01, days=4 / 1440)  # a 4-minute glide
    np.testing.assert_allclose(glide.edge(minutes_around_change(5, 7)),
                               [-0.01, -0.01, -0.005, 0.0, 0.005, 0.01, 0.01], atol=1e-15)


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_glide_scenario_turns_the_edge_gradually(pair):
    """Before the glide the market is the flip's mean reversion of the same seed, candle for
    candle; the yardstick's IC falls through the glide (first half above second half) and is
    clearly negative after its end."""
    glide = EdgeGlide(CHANGE_AT, days=2.0)
    frame = eight_days_5m(pair, glide)
    flip = eight_days_5m(pair, FLIP)
    start, middle = (pd.Timestamp(CHANGE_AT) - pd.Timedelta(days=d) for d in (2, 1))
    pd.testing.assert_frame_equal(frame[frame["date"] < start], flip[flip["date"] < start])
    first = frame[(frame["date"] >= start) & (frame["date"] < middle)]
    second = frame[(frame["date"] >= middle) & (frame["date"] < pd.Timestamp(CHANGE_AT))]
    assert yardstick_ic(frame[frame["date"] < start]) > 0.1
    assert yardstick_ic(first) > yardstick_ic(second) + 0.1
    assert yardstick_ic(split(frame)[1]) < -0.1


@pytest.mark.parametrize("pair", FLIP_PAIRS)
def test_volatility_shock_multiplies_returns_and_keeps_the_edge(pair):
    """Before the shock the market is the steady mean reversion of the same seed; after it
    every return is `factor` times larger (std ratio 3) and the yardstick keeps its IC."""
    shock = VolatilityShock(CHANGE_AT)
    frame = eight_days_5m(pair, shock)
    steady = eight_days_5m(pair, MeanReversion(shock.strength))
    (before, after), (steady_before, steady_after) = split(frame), split(steady)
    pd.testing.assert_frame_equal(before, steady_before)
    ratio = returns(after).std() / returns(steady_after).std()
    assert ratio == pytest.approx(shock.factor, rel=0.02)
    assert yardstick_ic(before) > 0.1 and yardstick_ic(after) > 0.1


@pytest.mark.parametrize(("make", "match"), [
    (lambda: EdgeFade(datetime(2025, 1, 5)), "fade_at 2025-01-05 00:00:00 must be"),
    (lambda: EdgeFade(START, strength=1.5), "strength 1.5 must be in"),
    (lambda: EdgeEmerge(datetime(2025, 1, 5)), "emerge_at 2025-01-05 00:00:00 must be"),
    (lambda: EdgeEmerge(START, strength=1.5), "strength 1.5 must be in"),
    (lambda: EdgeReverse(datetime(2025, 1, 5)), "reverse_at 2025-01-05 00:00:00 must be"),
    (lambda: EdgeReverse(START, strength=0.05), "strength 0.05 must be in"),
    (lambda: EdgeGlide(datetime(2025, 1, 5)), "glide_end 2025-01-05 00:00:00 must be"),
    (lambda: EdgeGlide(START, strength=0.05), "strength 0.05 must be in"),
    (lambda: EdgeGlide(START, days=0.0), "days 0.0 must be above 0"),
    (lambda: VolatilityShock(datetime(2025, 1, 5)), "shock_at 2025-01-05 00:00:00 must be"),
    (lambda: VolatilityShock(START, factor=0.0), "factor 0.0 must be above 0"),
])
def test_change_scenarios_reject_bad_arguments(make, match):
    """A naive moment, a pull beyond the gap and a non-positive factor are refused by name."""
    with pytest.raises(ValueError, match=match):
        make()
