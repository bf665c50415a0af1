"""`freqai.self_learning.features` picks the strategy's feature groups: "all" (default, today's
features), "market" (the market columns alone) or "market_time" (market and time of day and
week). Validated once at start-up with an error naming the key."""

from __future__ import annotations

import pytest
from freqtrade.exceptions import OperationalException
from strategy_support import load_strategy_module
from test_market_features_cache import PAIRS, FakeProvider, candle_frame

from self_learning.config import (
    FEATURE_SETS,
    ConfigError,
    FeatureSet,
    feature_set,
    parse_config,
)

TIME = ["%-day_of_week_sin", "%-day_of_week_cos", "%-hour_of_day_sin", "%-hour_of_day_cos"]


def freqai(features: str | None) -> dict:
    section = {} if features is None else {"features": features}
    return {"enabled": True, "feature_parameters": {"label_period_candles": 4},
            "self_learning": section}


def strategy(features: str | None, frames=None):
    module = load_strategy_module()
    built = module.SelfLearningStrategy({"freqai": freqai(features)})
    if frames is not None:
        built.dp = FakeProvider(frames)
    return built


def features_of(built, frames, pair: str = "ETH/USDT") -> list[str]:
    """The `%-` columns FreqAI would collect: expand_all (one period), expand_basic, then
    standard, each on the previous one's output (as FreqAI's data kitchen chains them)."""
    frame = frames[pair].copy()
    frame = built.feature_engineering_expand_all(frame, 10, {"pair": pair})
    frame = built.feature_engineering_expand_basic(frame, {"pair": pair})
    frame = built.feature_engineering_standard(frame, {"pair": pair})
    return [c for c in frame.columns if c.startswith("%")]


def test_default_is_every_feature_group():
    assert feature_set(freqai(None)) == FeatureSet(pair=True, time=True)
    assert parse_config(freqai(None)).features == "all"
    assert parse_config(freqai("market")).features == "market"


@pytest.mark.parametrize("value", ["pair_only", "MARKET", 1, None, ["market"]])
def test_bad_value_names_the_key(value):
    with pytest.raises(ConfigError, match=r"freqai\.self_learning\.features must be one of "
                                          r"all, market, market_time"):
        feature_set({"self_learning": {"features": value}})
    with pytest.raises(ConfigError, match=r"freqai\.self_learning\.features"):
        parse_config({**freqai(None), "self_learning": {"features": value}})


def test_the_strategy_refuses_a_bad_value_at_start_naming_the_key():
    with pytest.raises(OperationalException, match=r"freqai\.self_learning\.features"):
        strategy("pair")


@pytest.fixture
def frames():
    return {p: candle_frame(400, seed) for seed, p in enumerate(PAIRS)}


def test_market_keeps_only_the_market_columns(frames):
    every = features_of(strategy(None, frames), frames)
    market = features_of(strategy("market", frames), frames)
    assert market and all(c.startswith("%-basket_") or c.startswith("%-btc_")
                          or c.startswith("%-rel_") for c in market), market
    assert set(market) < set(every)
    assert not set(TIME) & set(market)
    assert "%-rsi-period" in every and "%-pct_change" in every


def test_market_time_adds_the_time_of_day_and_week(frames):
    market = features_of(strategy("market", frames), frames)
    both = features_of(strategy("market_time", frames), frames)
    assert sorted(both) == sorted(market + TIME)


def test_market_without_a_data_provider_is_an_error_not_an_empty_feature_list(frames):
    with pytest.raises(OperationalException, match=r"freqai\.self_learning\.features"):
        features_of(strategy("market"), frames)


def test_every_choice_is_a_feature_set():
    assert set(FEATURE_SETS) == {"all", "market", "market_time"}


def resampled(frame, rule: str):
    return (frame.set_index("date").resample(rule, label="left", closed="left")
            .agg({"open": "first", "high": "max", "low": "min", "close": "last",
                  "volume": "sum"}).reset_index())


def kitchen_features(features: str | None, frames) -> list[str]:
    """The feature list FreqAI's data kitchen builds through the strategy, with two
    include_timeframes, a corr pair and shifted candles."""
    from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

    built = strategy(features, frames)
    config = {"timeframe": "5m", "exchange": {"pair_whitelist": PAIRS}, "freqai": {
        **freqai(features), "identifier": "t", "train_period_days": 5,
        "backtest_period_days": 1,
        "feature_parameters": {"label_period_candles": 4, "include_timeframes": ["5m", "15m"],
                               "include_corr_pairlist": ["BTC/USDT"],
                               "include_shifted_candles": 2,
                               "indicator_periods_candles": [10, 20]}}}
    built.config = config
    built.freqai_info = config["freqai"]
    tfs = {"5m": lambda f: f.copy(), "15m": lambda f: resampled(f, "15min")}
    base = {tf: make(frames["ETH/USDT"]) for tf, make in tfs.items()}
    corr = {"BTC/USDT": {tf: make(frames["BTC/USDT"]) for tf, make in tfs.items()}}
    kitchen = FreqaiDataKitchen(config, live=True, pair="ETH/USDT")
    frame = kitchen.use_strategy_to_populate_indicators(built, corr, base, "ETH/USDT")
    return [c for c in frame.columns if c.startswith("%")]


def test_freqai_builds_market_columns_only_across_timeframes_and_corr_pairs(frames):
    every = kitchen_features(None, frames)
    market = kitchen_features("market", frames)
    direct = features_of(strategy("market", frames), frames)
    assert any("BTC/USDT_15m" in c for c in every) and any("_shift-2" in c for c in every)
    assert sorted(market) == sorted(direct)
    assert sorted(kitchen_features("market_time", frames)) == sorted(market + TIME)
