"""Start-up checks: weak API secrets are refused in live trading and beyond loopback and warned
about in a loopback dry-run; a missing label_period_candles and a training window too short
for window_candles + label_period_candles stop the strategy and the model with an error that
names the keys and the numbers. The training-window cases start from the 5m setup (conftest's
base_config: config.json + config.5m.json, whose numbers they quote); the placeholder warning
from config.json as shipped."""

from __future__ import annotations

import copy
import logging
import re
import sys
from pathlib import Path

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from strategy_support import load_strategy_module

from self_learning import startup_checks
from self_learning.config import ConfigError, parse_config
from self_learning.startup_checks import api_secrets_verdict, check_startup, enforce

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"password": "a-long-enough-password", "jwt_secret_key": "j" * 40, "ws_token": "w" * 34}
FIVE_MINUTES = 300


def api_config(base_config: dict, mode: RunMode, address="127.0.0.1", **api) -> dict:
    config = copy.deepcopy(base_config)
    config["runmode"] = mode
    config["api_server"].update(listen_ip_address=address, **api)
    return config


# -- API secrets ----------------------------------------------------------------------------


def test_shipped_placeholders_are_warned_about_in_a_loopback_dry_run(shipped_config):
    """The shipped config.json in a dry-run on 127.0.0.1: no refusal, one warning naming every
    placeholder key and saying what would be refused."""
    verdict = api_secrets_verdict(api_config(shipped_config, RunMode.DRY_RUN))
    assert verdict.refusals == ()
    (warning,) = verdict.warnings
    assert warning.startswith("SECURITY WARNING - api_server.password is still the CHANGE-ME")
    for key in ("api_server.jwt_secret_key", "api_server.ws_token"):
        assert f"{key} is still the CHANGE-ME placeholder" in warning
    assert "live trading or an API listening beyond 127.0.0.1 would be refused" in warning


@pytest.mark.parametrize("mode,address,api,match", [
    (RunMode.LIVE, "127.0.0.1", {},
     r"^Refusing to start: api_server\.password is still the CHANGE-ME placeholder.*"
     r"this is live trading"),
    (RunMode.DRY_RUN, "0.0.0.0", {},
     r"api_server\.listen_ip_address 0\.0\.0\.0 is reachable beyond loopback"),
    (RunMode.WEBSERVER, "192.168.1.5", {}, r"192\.168\.1\.5 is reachable beyond loopback"),
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "password": "abc12"},
     r"api_server\.password is shorter than 6 characters \(freqtrade's minimum\)"),
    # .env.example's variables left empty (the Docker set-up's first start): said as such,
    # not as a short password and freqtrade's default JWT secret
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "password": ""}, r"api_server\.password is empty"),
    (RunMode.DRY_RUN, "0.0.0.0", {**GOOD, "jwt_secret_key": ""},
     r"api_server\.jwt_secret_key is empty"),
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "jwt_secret_key": "x" * 31},
     r"api_server\.jwt_secret_key is shorter than 32 characters"),
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "jwt_secret_key": "somethingrandom"},
     r"api_server\.jwt_secret_key is freqtrade's documented default"),
    (RunMode.DRY_RUN, "0.0.0.0", {**GOOD, "ws_token": ["w" * 30, "change-me-too"]},
     r"api_server\.ws_token is still the CHANGE-ME placeholder"),
    # issue 20: a one-letter websocket token opened the API's message stream on 0.0.0.0
    (RunMode.DRY_RUN, "0.0.0.0", {**GOOD, "ws_token": "a"},
     r"api_server\.ws_token is shorter than 16 characters"),
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "ws_token": ["w" * 30, "a"]},
     r"api_server\.ws_token is shorter than 16 characters"),
    (RunMode.DRY_RUN, "0.0.0.0", {**GOOD, "ws_token": "secret_ws_t0ken."},
     r"api_server\.ws_token is freqtrade's documented example"),
    # issue 20: common passwords were accepted in live on 0.0.0.0
    (RunMode.LIVE, "0.0.0.0", {**GOOD, "password": "password"},
     r"api_server\.password is one of the most common passwords"),
    (RunMode.LIVE, "0.0.0.0", {**GOOD, "password": "123456"},
     r"api_server\.password is one of the most common passwords"),
    (RunMode.LIVE, "0.0.0.0", {**GOOD, "password": "freqtrader"},
     r"api_server\.password is one of the most common passwords"),
    (RunMode.DRY_RUN, "0.0.0.0", {**GOOD, "password": "QWERTY123"},
     r"api_server\.password is one of the most common passwords"),
    (RunMode.LIVE, "127.0.0.1", {**GOOD, "username": "bob-the-trader",
                                 "password": "bob-the-trader"},
     r"api_server\.password is the username"),
])
def test_weak_secrets_are_refused_in_live_or_beyond_loopback(base_config, mode, address, api,
                                                             match):
    """Each weak secret (placeholder, too short, freqtrade's default) is refused, naming its
    key, when trading live or when the API listens beyond loopback."""
    verdict = api_secrets_verdict(api_config(base_config, mode, address, **api))
    assert verdict.warnings == ()
    (refusal,) = verdict.refusals
    assert refusal.count("Refusing to start") == 1
    assert re.search(match, refusal), refusal


def test_weak_ws_token_and_common_password_only_warn_in_a_loopback_dry_run(base_config):
    """The same weak values on 127.0.0.1 in a dry-run start with the warning, not a refusal."""
    config = api_config(base_config, RunMode.DRY_RUN,
                        **{**GOOD, "password": "123456", "ws_token": "a"})
    verdict = api_secrets_verdict(config)
    assert verdict.refusals == ()
    (warning,) = verdict.warnings
    assert "api_server.password is one of the most common passwords" in warning
    assert "api_server.ws_token is shorter than 16 characters" in warning


def test_refusal_does_not_print_the_secret(base_config):
    """A refused password is named by its key, never echoed into the log."""
    config = api_config(base_config, RunMode.LIVE, **{**GOOD, "password": "hunt2"})
    (refusal,) = api_secrets_verdict(config).refusals
    assert "hunt2" not in refusal and "api_server.password" in refusal


@pytest.mark.parametrize("mode,address,api", [
    (RunMode.LIVE, "0.0.0.0", GOOD),                       # strong secrets: freqtrade's call
    (RunMode.BACKTEST, "0.0.0.0", {}),                     # no API server in a backtest
    (RunMode.HYPEROPT, "127.0.0.1", {}),
    (RunMode.LIVE, "127.0.0.1", {"enabled": False}),       # API server off
])
def test_strong_secrets_disabled_api_or_no_api_mode_pass(base_config, mode, address, api):
    assert api_secrets_verdict(api_config(base_config, mode, address, **api)) == \
        startup_checks.Verdict()


def test_enforce_raises_refusals_and_logs_each_warning_once(base_config, caplog):
    """`enforce` raises the caller's exception type for a refusal, and logs a warning once per
    process even when both the strategy and the model run the checks."""
    startup_checks._warned.clear()
    with pytest.raises(OperationalException, match=r"Refusing to start: api_server\.password"):
        enforce(api_config(base_config, RunMode.LIVE), FIVE_MINUTES, OperationalException)
    with caplog.at_level(logging.WARNING, logger="self_learning.startup_checks"):
        for _ in range(2):
            enforce(api_config(base_config, RunMode.DRY_RUN), FIVE_MINUTES, OperationalException)
    assert [r.message for r in caplog.records].count(
        api_secrets_verdict(api_config(base_config, RunMode.DRY_RUN)).warnings[0]) == 1


# -- config: label period and training window ---------------------------------------------


def freqai_config(base_config: dict, train_days: int = 5, **self_learning) -> dict:
    config = copy.deepcopy(base_config)
    config["runmode"] = RunMode.BACKTEST
    config["freqai"]["train_period_days"] = train_days
    config["freqai"]["self_learning"].update(self_learning)
    return config


def test_missing_label_period_is_an_error_naming_the_key(base_config):
    freqai = copy.deepcopy(base_config["freqai"])
    del freqai["feature_parameters"]["label_period_candles"]
    with pytest.raises(ConfigError, match=r"^freqai\.feature_parameters\.label_period_candles "
                                          r"is missing"):
        parse_config(freqai)
    config = freqai_config(base_config)
    del config["freqai"]["feature_parameters"]["label_period_candles"]
    (refusal,) = check_startup(config, FIVE_MINUTES, model=False).refusals
    assert refusal.startswith("freqai.feature_parameters.label_period_candles is missing")


def test_training_window_too_short_names_the_keys_and_numbers(base_config):
    """One 5m day (288 candles) against window_candles 300 + label_period_candles 12: the error
    names train_period_days, window_candles and label_period_candles, the candles available
    and needed, and the days that would do."""
    config = freqai_config(base_config, train_days=1, window_candles=300)
    (refusal,) = check_startup(config, FIVE_MINUTES).refusals
    assert refusal.startswith("freqai.train_period_days (1) gives 288 candles of 300 s per "
                              "training window, but a first training needs at least 375: ")
    assert "freqai.self_learning.window_candles (300) - 1 candles" in refusal
    assert "freqai.feature_parameters.label_period_candles (12) candles" in refusal
    assert "Set train_period_days to at least 2" in refusal


def test_training_window_counts_the_buffered_candles(base_config):
    """buffer_train_data_candles cuts both ends of every training window (FreqAI)."""
    config = freqai_config(base_config, train_days=1, window_candles=200)
    assert check_startup(config, FIVE_MINUTES).refusals == ()  # 288 >= 199 + 12 + 64
    config["freqai"]["feature_parameters"]["buffer_train_data_candles"] = 10
    (refusal,) = check_startup(config, FIVE_MINUTES).refusals
    assert "gives 268 candles" in refusal and "minus 2 x buffer_train_data_candles (10)" in refusal


@pytest.mark.parametrize("path,value,match", [
    # issue 20: "train_period_days": "5" stopped with a raw TypeError
    ("freqai.train_period_days", "5",
     r"freqai\.train_period_days must be a number, got the string '5', write 5 without quotes"),
    ("freqai.train_period_days", None, r"freqai\.train_period_days must be a number, got null"),
    ("freqai.train_period_days", True, r"freqai\.train_period_days must be a number"),
    ("freqai.feature_parameters.buffer_train_data_candles", "10",
     r"freqai\.feature_parameters\.buffer_train_data_candles must be a whole number"),
    ("freqai.feature_parameters.buffer_train_data_candles", 2.5,
     r"buffer_train_data_candles must be a whole number, got 2\.5 \(float\)"),
    ("freqai.feature_parameters.label_period_candles", "12",
     r"freqai\.feature_parameters\.label_period_candles must be a whole number"),
    ("freqai.feature_parameters", [], r"freqai\.feature_parameters must be an object"),
    ("freqai.self_learning", "on", r"freqai\.self_learning must be an object"),
    ("freqai.self_learning.window_candles", "32",
     r"freqai\.self_learning\.window_candles must be a whole number"),
    ("freqai.enabled", "true",
     r"freqai\.enabled must be true or false, got the string 'true', write true without"),
    ("freqai", "yes", r"freqai must be an object"),
    ("api_server.enabled", 1, r"api_server\.enabled must be true or false"),
    ("api_server.listen_ip_address", 0, r"api_server\.listen_ip_address must be a string"),
    ("api_server.listen_port", "8080", r"api_server\.listen_port must be a whole number"),
    ("api_server.password", 123456,
     r"api_server\.password must be a string, got a value of type int"),
    ("api_server.jwt_secret_key", ["x" * 40], r"api_server\.jwt_secret_key must be a string"),
    ("api_server.ws_token", ["w" * 30, 7], r"api_server\.ws_token must be a string or a list"),
    ("api_server", True, r"api_server must be an object"),
])
def test_wrong_type_is_a_refusal_naming_the_key(base_config, path, value, match):
    """Every config value the start-up checks read, of the wrong type, is one refusal naming
    its key (never a TypeError from the arithmetic), for the strategy and the model alike."""
    for mode in (RunMode.DRY_RUN, RunMode.LIVE, RunMode.BACKTEST):
        config = freqai_config(base_config)
        config["runmode"] = mode
        config["api_server"].update(GOOD)
        *parents, key = path.split(".")
        section = config
        for part in parents:
            section = section[part]
        section[key] = value
        (refusal,) = check_startup(config, FIVE_MINUTES).refusals
        assert re.search(match, refusal), refusal
        if path.startswith("freqai.self_learning."):
            continue  # our section's keys: config.py, read only for SelfLearningModel
        assert refusal.startswith("Wrong type in the config: "), refusal
        assert check_startup(config, FIVE_MINUTES, model=False).refusals == (refusal,)
        assert "123456" not in refusal  # a secret of the wrong type is not echoed


def test_wrong_type_stops_the_model_with_the_key(ft_config):
    """The model's own check raises freqtrade's OperationalException naming the key."""
    sys.path.insert(0, str(ROOT / "freqai_models"))
    from SelfLearningModel import SelfLearningModel

    config = ft_config.data
    config["runmode"] = RunMode.BACKTEST
    config["user_data_dir"] = Path(config["user_data_dir"])
    config["freqai"]["train_period_days"] = "5"
    with pytest.raises(OperationalException, match=r"freqai\.train_period_days must be a "
                                                   r"number, got the string '5'"):
        SelfLearningModel(config=config)


def test_shipped_config_passes_and_other_models_skip_the_window_check(base_config):
    assert check_startup(freqai_config(base_config), FIVE_MINUTES).refusals == ()
    short = freqai_config(base_config, train_days=1, window_candles=300)
    assert check_startup(short, FIVE_MINUTES, model=False).refusals == ()



# -- freqtrade's bias analysers -------------------------------------------------------------

TWO_PAIRS = ["BTC/USDT", "ETH/USDT"]


def analysis_config(base_config: dict, mode: RunMode, pairs: list[str], **self_learning) -> dict:
    config = freqai_config(base_config, **self_learning)
    config["runmode"] = mode
    config["exchange"]["pair_whitelist"] = list(pairs)
    return config


def test_bias_analysis_of_several_pairs_is_refused_naming_the_pairs(base_config):
    """lookahead-analysis (run mode util_no_exchange) of the two shipped pairs: the strategy's
    market features and the model's pooled statistics depend on the other pair, which
    freqtrade drops from each trade's cut run, so it would report look-ahead that is none
    (with both pairs a cut backtest predicts every candle bit-identically): refused, naming
    the key, the pairs and the `-p` to add."""
    config = analysis_config(base_config, RunMode.UTIL_NO_EXCHANGE, TWO_PAIRS)
    (refusal,) = check_startup(config, FIVE_MINUTES, market_features=True).refusals
    assert refusal.startswith("freqtrade's lookahead-analysis and recursive-analysis need one "
                              "pair here, but exchange.pair_whitelist has 2 (BTC/USDT, "
                              "ETH/USDT)")
    assert "SelfLearningStrategy's market features" in refusal
    assert "freqai.self_learning.shared_across_pairs" in refusal
    assert "add `-p BTC/USDT`" in refusal
    # the model alone (any strategy) pools across pairs unless shared_across_pairs is off
    (refusal,) = check_startup(config, FIVE_MINUTES).refusals
    assert "market features" not in refusal and "shared_across_pairs" in refusal


@pytest.mark.parametrize("mode,pairs,market_features,shared", [
    (RunMode.UTIL_NO_EXCHANGE, TWO_PAIRS[:1], True, True),  # `-p BTC/USDT`, each cut run
    (RunMode.UTIL_NO_EXCHANGE, TWO_PAIRS, False, False),    # another strategy, nothing pooled
    (RunMode.BACKTEST, TWO_PAIRS, True, True),
    (RunMode.HYPEROPT, TWO_PAIRS, True, True),
    (RunMode.PLOT, TWO_PAIRS, True, True),
])
def test_bias_analysis_of_one_pair_and_other_modes_pass(base_config, mode, pairs,
                                                        market_features, shared):
    config = analysis_config(base_config, mode, pairs, shared_across_pairs=shared)
    assert check_startup(config, FIVE_MINUTES, market_features=market_features).refusals == ()


def test_strategy_refuses_bias_analysis_of_several_pairs_with_any_model(base_config):
    """SelfLearningStrategy's market features read the whole whitelist whatever the model:
    with LightGBM (no pooling) too."""
    strategy_class = load_strategy_module().SelfLearningStrategy
    config = analysis_config(base_config, RunMode.UTIL_NO_EXCHANGE, TWO_PAIRS)
    config["freqaimodel"] = "LightGBMRegressor"
    with pytest.raises(OperationalException, match=r"exchange\.pair_whitelist has 2 .*"
                                                   r"SelfLearningStrategy's market features"):
        strategy_class(config)
    config["exchange"]["pair_whitelist"] = TWO_PAIRS[:1]
    strategy_class(config)

# -- the strategy and the model refuse at load ----------------------------------------------


@pytest.fixture(scope="module")
def strategy_class():
    return load_strategy_module().SelfLearningStrategy


@pytest.mark.parametrize("case,match", [
    ("no_label_period", r"freqai\.feature_parameters\.label_period_candles is missing"),
    ("short_window", r"freqai\.train_period_days \(1\) gives 288 candles.*"
                     r"freqai\.self_learning\.window_candles \(300\)"),
    ("live_placeholders", r"Refusing to start: api_server\.password"),
])
def test_strategy_refuses_to_load(base_config, strategy_class, case, match):
    """Loading the strategy (which freqtrade does before it starts its API server or FreqAI)
    raises OperationalException naming the key."""
    config = freqai_config(base_config, train_days=1, window_candles=300) \
        if case == "short_window" else freqai_config(base_config)
    if case == "no_label_period":
        del config["freqai"]["feature_parameters"]["label_period_candles"]
    if case == "live_placeholders":
        config["runmode"] = RunMode.LIVE
    config["freqaimodel"] = "SelfLearningModel"
    with pytest.raises(OperationalException, match=match):
        strategy_class(config)


def test_strategy_targets_without_label_period_name_the_key(strategy_class, base_config):
    """A strategy whose config lost label_period_candles after loading (FreqAI hands it its
    `freqai` section) fails with the key's name, not a KeyError."""
    import pandas as pd

    strategy = strategy_class({})
    strategy.freqai_info = {"feature_parameters": {}}
    frame = pd.DataFrame({"open": [1.0] * 5, "high": [1.1] * 5, "low": [0.9] * 5,
                          "close": [1.0] * 5, "volume": [1.0] * 5})
    with pytest.raises(OperationalException, match=r"label_period_candles is missing"):
        strategy.set_freqai_targets(frame, metadata={})


@pytest.mark.parametrize("case,match", [
    ("short_window", r"freqai\.train_period_days \(1\) gives 288 candles"),
    ("no_label_period", r"freqai\.feature_parameters\.label_period_candles is missing"),
])
def test_model_refuses_to_load(ft_config, case, match):
    """SelfLearningModel (for any strategy) refuses the same configs at construction, before
    it builds a network."""
    sys.path.insert(0, str(ROOT / "freqai_models"))
    from SelfLearningModel import SelfLearningModel

    config = ft_config.data
    config["runmode"] = RunMode.BACKTEST
    config["user_data_dir"] = Path(config["user_data_dir"])  # as freqtrade's Configuration
    config["freqai"]["train_period_days"] = 1
    if case == "short_window":
        config["freqai"]["self_learning"]["window_candles"] = 300
    else:
        del config["freqai"]["feature_parameters"]["label_period_candles"]
    with pytest.raises(OperationalException, match=match):
        SelfLearningModel(config=config)
