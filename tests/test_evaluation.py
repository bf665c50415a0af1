"""self_learning.reports.evaluation: the metrics of the quality benchmark, and the one target
formula shared by the strategy, the model and the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.converter import ohlcv_fill_up_missing_data
from strategy_support import load_strategy_module

from self_learning.candles.features import TARGET_NAMES
from self_learning.candles.samples import Candles, prepare
from self_learning.reports import evaluation as ev

GAPPY_PAIRS = ["ADA/BTC", "DASH/BTC", "XMR/BTC"]  # the shared pairs with missing candles


@pytest.mark.parametrize(("pred", "target", "ic"), [
    ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
    ([1, 2, 3, 4], [1, 8, 27, 64], 1.0),      # rank correlation ignores scale
    ([4, 3, 2, 1], [10, 20, 30, 40], -1.0),
    ([1, 2, 2, 3], [1, 2, 3, 4], 0.9486833),  # ties get average ranks
])
def test_spearman_ic_table(pred, target, ic):
    """Spearman's rank correlation, ties ranked by their average rank."""
    assert ev.spearman_ic(pred, target) == pytest.approx(ic)


def test_spearman_ic_undefined_for_constant_or_tiny_input():
    """A model that outputs a constant (FreqAI's null predictions) has no IC, not 0; fewer
    than 3 rows have none either; rows of different length are an error."""
    assert np.isnan(ev.spearman_ic(np.zeros(10), np.arange(10.0)))
    assert np.isnan(ev.spearman_ic([1.0, 2.0], [1.0, 2.0]))
    with pytest.raises(ValueError, match="pred has 3 rows, target 2"):
        ev.spearman_ic([1, 2, 3], [1, 2])


def test_hit_rate_counts_sign_agreement_and_zero_prediction_as_miss():
    """Rows with target 0 are not counted; a prediction of 0 counts as a miss."""
    pred = np.array([0.1, -0.1, 0.1, 0.0, 0.2])
    target = np.array([0.2, -0.3, -0.1, 0.1, 0.0])
    assert ev.hit_rate(pred, target) == pytest.approx(2 / 4)
    assert np.isnan(ev.hit_rate([1.0], [0.0]))


def test_naive_signal_is_minus_distance_to_sma():
    """-(close / SMA20 - 1), NaN before the SMA has 20 candles."""
    close = np.arange(1.0, 31.0)
    got = ev.naive_signal(close, period=20)
    assert np.isnan(got[:19]).all()
    assert got[19] == pytest.approx(-(20.0 / np.mean(close[:20]) - 1))


def _rows() -> pd.DataFrame:
    """Two windows x two pairs; pair A is perfect in window 1 and reversed in window 2."""
    up, down = [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]
    target = [0.1, 0.2, 0.3, 0.4]
    cells = [("A", 1, up), ("B", 1, up), ("A", 2, down), ("B", 2, up)]
    return pd.DataFrame([
        {"pair": p, "window": w, "date": i, "pred": v, "target": t}
        for p, w, values in cells for i, (v, t) in enumerate(zip(values, target, strict=True))])


def test_window_ics_average_pairs_within_each_window():
    """Per window, each pair's IC, then the mean over pairs: window 1 -> 1, window 2 -> 0."""
    ics = ev.window_ics(_rows(), "pred")
    assert ics.to_dict() == {1: pytest.approx(1.0), 2: pytest.approx(0.0)}
    centred = _rows().assign(pred=lambda f: f["pred"] - 2.5, target=lambda f: f["target"] - 0.25)
    hits = ev.window_hit_rates(centred, "pred")
    assert hits.to_dict() == {1: pytest.approx(1.0), 2: pytest.approx(0.5)}


def test_window_ics_are_the_mean_not_the_median_over_pairs():
    """Three pairs in one window, ICs 1, 1 and -1: the window's IC is their mean, 1/3."""
    up, down = [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]
    rows = pd.DataFrame([{"pair": p, "window": 1, "pred": v, "target": float(i)}
                         for p, values in (("A", up), ("B", up), ("C", down))
                         for i, v in enumerate(values)])
    assert ev.window_ics(rows, "pred").to_dict() == {1: pytest.approx(1 / 3)}


def test_window_ics_without_a_pair_column_treat_rows_as_one_pair():
    """A single-pair frame (the demo's) needs no `pair` column."""
    rows = _rows()
    one = rows[rows["pair"] == "A"].drop(columns="pair")
    assert ev.window_ics(one, "pred").to_dict() == {1: pytest.approx(1.0), 2: pytest.approx(-1.0)}


@pytest.mark.parametrize(("values", "mean", "se"), [
    ([0.1, 0.3], 0.2, 0.1),                  # std(ddof=1) = 0.1414, / sqrt(2)
    ([0.2, 0.2, 0.2], 0.2, 0.0),
    ([0.1, np.nan, 0.3], 0.2, 0.1),           # NaN windows are left out
    ([0.5], 0.5, np.nan),
    ([], np.nan, np.nan),
])
def test_mean_and_standard_error_table(values, mean, se):
    """Mean of the finite values and std(ddof=1)/sqrt(n)."""
    got_mean, got_se = ev.mean_and_se(values)
    np.testing.assert_allclose([got_mean, got_se], [mean, se], atol=1e-12)


def test_summarize_reports_mean_ic_its_error_and_hit_rate():
    """summarize = mean of the per-window ICs (1 and 0), their standard error (0.5), the mean
    per-window hit-rate (every prediction and target is positive: 1), and the counts."""
    got = ev.summarize(_rows(), "pred")
    assert got == {"ic": pytest.approx(0.5), "ic_se": pytest.approx(0.5),
                   "hit_rate": pytest.approx(1.0), "windows": 2.0, "rows": 16.0}


def test_paired_difference_uses_common_windows_only():
    """Mean +- SE of the per-window differences on the windows both series have."""
    a = pd.Series({1: 0.3, 2: 0.1, 3: 0.2, 4: np.nan})
    b = pd.Series({1: 0.2, 2: 0.2, 3: 0.0, 5: 0.9})
    mean, se = ev.paired_difference(a, b)
    diffs = np.array([0.1, -0.1, 0.2])
    assert mean == pytest.approx(diffs.mean())
    assert se == pytest.approx(diffs.std(ddof=1) / np.sqrt(3))


def test_rank_agreement_per_pair_on_common_rows():
    """Two runs that rank every pair's candles alike agree 1, whatever their scale; reversed
    on one of two pairs averages to 0; rows only one run has are ignored."""
    first = _rows()[lambda f: f["window"] == 1]
    second = first.assign(pred=first["pred"] * 10)
    assert ev.rank_agreement(first, second) == pytest.approx(1.0)
    flipped = second.assign(pred=np.where(second["pair"] == "B", -second["pred"], second["pred"]))
    extra = pd.DataFrame({"pair": ["A"], "window": [1], "date": [99], "pred": [-5.0],
                          "target": [0.0]})
    assert ev.rank_agreement(first, pd.concat([flipped, extra])) == pytest.approx(0.0)
    assert np.isnan(ev.rank_agreement(first, second.assign(pair="C")))
    # a pair the runs share fewer than 3 rows of has no agreement and is left out of the mean
    short = pd.DataFrame({"pair": ["C"] * 2, "window": [1] * 2, "date": [0, 1],
                          "pred": [1.0, 2.0], "target": [0.0] * 2})
    assert ev.rank_agreement(pd.concat([first, short]), pd.concat([second, short])) \
        == pytest.approx(1.0)


def test_realized_targets_by_hand_and_names_missing_columns():
    """&-s_close = mean(close[t+1..t+H]) / close[t] - 1, the excursions from high and low."""
    candles = pd.DataFrame({"date": range(4), "open": 1.0, "high": [1.5, 2.5, 4.5, 8.5],
                            "low": [0.5, 1.5, 3.5, 7.5], "close": [1.0, 2.0, 4.0, 8.0],
                            "volume": 1.0})
    got = ev.realized_targets(candles, 2)
    np.testing.assert_allclose(got["&-s_close"].to_numpy()[:2], [(2 + 4) / 2 - 1, 12 / 4 - 1])
    np.testing.assert_allclose(got["&-liq_up"].to_numpy()[:2], [4.5 - 1, 8.5 / 2 - 1])
    np.testing.assert_allclose(got["&-liq_down"].to_numpy()[:2], [1.5 - 1, 3.5 / 2 - 1])
    assert got[list(TARGET_NAMES)].iloc[2:].isna().all().all()
    with pytest.raises(ValueError, match=r"lack column\(s\) \['volume'\]"):
        ev.realized_targets(candles.drop(columns="volume"), 2)


# -- one formula: strategy, model and benchmark ----------------------------------------------


@pytest.fixture(scope="module")
def strategy(base_config):
    strat = load_strategy_module().SelfLearningStrategy({})
    strat.freqai_info = base_config["freqai"]
    return strat


@pytest.mark.parametrize("pair", GAPPY_PAIRS)
def test_strategy_model_and_benchmark_targets_are_identical(strategy, load_candles, pair):
    """On real candles with gaps that freqtrade fills, the strategy's labels (what FreqAI
    trains on), the model's own targets (samples.prepare, learned per candle) and the
    benchmark's realized target are the same numbers on every row, NaN on the same rows."""
    raw = load_candles(pair, "5m")
    filled = ohlcv_fill_up_missing_data(raw, "5m", pair)
    assert len(filled) > len(raw), f"{pair} has no gap to test"
    horizon = strategy.freqai_info["feature_parameters"]["label_period_candles"]

    labels = strategy.set_freqai_targets(filled.copy(), metadata={"pair": pair})
    labels = labels[list(TARGET_NAMES)].to_numpy(dtype=np.float64)

    ts = (filled["date"].astype("datetime64[s, UTC]").astype("int64")).to_numpy()
    ohlcv = filled[ev.OHLCV].to_numpy(dtype=np.float64)
    s = prepare(Candles(ts, ohlcv, np.zeros((len(ts), 1))), window=4, horizon=horizon)
    model = np.where(s.target_ok[:, None], s.targets, np.nan)

    bench = ev.realized_targets(raw, horizon).set_index("date")
    bench = bench.reindex(filled["date"])[list(TARGET_NAMES)].to_numpy()

    np.testing.assert_array_equal(np.isnan(labels), np.isnan(bench))
    np.testing.assert_array_equal(labels, bench)
    learned = s.target_ok  # the model learns these rows: its float32 targets are the labels
    assert learned.sum() > 0.9 * np.isfinite(labels[:, 0]).sum()
    np.testing.assert_array_equal(np.isfinite(labels[:, 0]) & s.input_ok, learned)
    np.testing.assert_allclose(model[learned], labels[learned], rtol=2e-7, atol=1e-9)


# -- the headline IC on markets with no edge ---------------------------------------------------

WALK_HORIZON, WALK_CANDLES_PER_DAY = 12, 288


def random_walk_rows(walks: int, days: int, seed: int = 0) -> list[pd.DataFrame]:
    """Scored rows (pair, day, naive, target) of `walks` i.i.d. Gaussian random walks of 5m
    candles, target through the one formula (realized_targets), yardstick naive_signal: nothing
    can predict any of them, so an unbiased IC is 0 on average."""
    rng = np.random.default_rng(seed)
    n = WALK_CANDLES_PER_DAY * days + ev.SMA_PERIOD
    dates = pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC")
    out = []
    for _ in range(walks):
        close = 100 * np.exp(np.cumsum(rng.standard_normal(n) * 0.002))
        candles = pd.DataFrame({"date": dates, "open": np.r_[100.0, close[:-1]], "close": close,
                                "volume": 1.0})
        candles["high"] = candles[["open", "close"]].max(axis=1)
        candles["low"] = candles[["open", "close"]].min(axis=1)
        rows = pd.DataFrame({"pair": "A/USDT", "date": dates, "naive": ev.naive_signal(close),
                             "target": ev.realized_targets(candles, WALK_HORIZON)["&-s_close"]})
        rows = rows.dropna().reset_index(drop=True)
        rows["day"] = rows["window"] = rows["date"].dt.floor("D")
        out.append(rows)
    return out


def mean_and_error(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def test_headline_ic_is_unbiased_on_random_walks_where_the_per_day_ic_is_not():
    """Over 300 random walks of 4 days the jackknifed pooled IC of the yardstick averages 0
    (within 3 standard errors, |mean| < 0.01), and its interval covers 0 in about 95 % of the
    walks; the old headline, the mean of ICs ranked inside each day, scores the same no-edge
    market at about +0.14, and the plain pooled IC (no jackknife) at about +0.016."""
    walks = random_walk_rows(300, 4)
    headline = [ev.day_jackknife(rows, "naive") for rows in walks]
    mean, error = mean_and_error([e.value for e in headline])
    assert abs(mean) < max(3 * error, 0.002) and abs(mean) < 0.01, (mean, error)
    covered = np.mean([e.low <= 0.0 <= e.high for e in headline])
    assert 0.88 <= covered <= 0.99, covered
    per_day, per_day_error = mean_and_error([ev.summarize(r, "naive")["ic"] for r in walks])
    assert per_day > 0.1 and per_day > 10 * per_day_error, (per_day, per_day_error)
    plain, plain_error = mean_and_error([e.plain for e in headline])
    assert plain > 3 * plain_error, (plain, plain_error)


def test_pooled_ic_averages_the_pairs_that_have_an_ic():
    """A pair whose prediction is constant (FreqAI's null predictions) has no IC: it is left
    out of the mean over pairs instead of making the headline NaN."""
    rows = _rows()[lambda f: f["window"] == 1]
    flat = rows.assign(pred=np.where(rows["pair"] == "B", 0.0, rows["pred"]))
    assert ev.pooled_ic(flat, "pred") == pytest.approx(1.0)
    assert np.isnan(ev.pooled_ic(flat.assign(pred=0.0), "pred"))


def test_jackknife_of_a_paired_difference_uses_the_same_deleted_days():
    """A column minus itself is exactly 0 with 0 error; a real difference gets the value of
    the two plain ICs' difference up to the bias correction."""
    rows = random_walk_rows(1, 6, seed=3)[0]
    rows["copy"], rows["noise"] = rows["naive"], np.random.default_rng(1).standard_normal(len(rows))
    same = ev.paired_jackknife(rows, "naive", "copy")
    assert (same.value, same.se, same.low, same.high) == (0.0, 0.0, 0.0, 0.0)
    diff = ev.paired_jackknife(rows, "naive", "noise")
    assert diff.plain == pytest.approx(ev.pooled_ic(rows, "naive") - ev.pooled_ic(rows, "noise"))
    assert diff.low < diff.value < diff.high and diff.days == rows["day"].nunique()


def test_jackknife_needs_three_days_and_finite_values():
    assert np.isnan(ev.jackknife(0.1, [0.1, 0.2]).value)
    assert np.isnan(ev.jackknife(0.1, [0.1, np.nan, 0.2]).se)
    got = ev.jackknife(0.5, [0.4, 0.5, 0.6])
    assert got.value == pytest.approx(0.5) and got.se == pytest.approx(np.sqrt(2 / 3 * 0.02))
    from scipy.stats import t

    half = t.ppf(0.975, 2) * got.se  # Student t with days - 1 degrees of freedom
    assert (got.low, got.high) == pytest.approx((0.5 - half, 0.5 + half))
