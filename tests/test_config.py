"""The freqai.self_learning section is validated once; a bad value names its key."""

import pytest

from self_learning.config import ConfigError, SelfLearningConfig, parse_config


def test_defaults_when_section_is_absent():
    """No section at all gives the documented defaults (and H from feature_parameters)."""
    cfg = parse_config({"feature_parameters": {"label_period_candles": 24}})
    assert cfg == SelfLearningConfig(label_period_candles=24)


@pytest.mark.parametrize("key,value,match", [
    ("window_candles", 2, r"freqai\.self_learning\.window_candles must be between"),
    ("epochs", "ten", r"freqai\.self_learning\.epochs must be a whole number"),
    ("learning_rate", True, r"freqai\.self_learning\.learning_rate must be a number"),
    ("online_learning", 1, r"freqai\.self_learning\.online_learning must be true or false"),
    ("save_interval", 0, r"freqai\.self_learning\.save_interval must be between"),
    ("backtest_from_live_model", "yes",
     r"freqai\.self_learning\.backtest_from_live_model must be true or false"),
])
def test_bad_value_names_the_key(key, value, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({"self_learning": {key: value}})


def test_backtest_from_live_model_is_off_unless_asked():
    """Backtests never start from the live store unless the user opts in."""
    fp = {"feature_parameters": {"label_period_candles": 12}}
    assert parse_config(fp).backtest_from_live_model is False
    assert parse_config({**fp, "self_learning": {"backtest_from_live_model": True}}
                        ).backtest_from_live_model is True


def test_unknown_key_is_an_error_listing_known_keys():
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) in freqai\.self_learning: epoch\b"):
        parse_config({"self_learning": {"epoch": 3}})


@pytest.mark.parametrize("key,hint", [
    ("memory_candle", "memory_candle (did you mean memory_candles?)"),
    ("label_period_candles", "label_period_candles (it belongs in freqai.feature_parameters)"),
    ("zzz", "zzz. Known keys"),
])
def test_unknown_key_names_the_key_it_is_probably_a_typo_of(key, hint):
    """A typo names the known key it is close to; the horizon put into our section says
    where it belongs; a key like no other is named alone."""
    with pytest.raises(ConfigError) as err:
        parse_config({"self_learning": {key: 1}})
    assert hint in str(err.value)


def test_bad_label_period_names_feature_parameters():
    with pytest.raises(ConfigError, match=r"freqai\.feature_parameters\.label_period_candles"):
        parse_config({"feature_parameters": {"label_period_candles": 0}})


def test_section_must_be_an_object():
    with pytest.raises(ConfigError, match="must be an object"):
        parse_config({"self_learning": [1, 2]})


@pytest.mark.parametrize("params", [{}, None])
def test_empty_model_training_parameters_are_fine(params):
    fp = {"feature_parameters": {"label_period_candles": 12}}
    assert parse_config({**fp, "model_training_parameters": params}) == parse_config(fp)


def test_model_training_parameters_are_refused_naming_their_keys():
    """FreqAI's section for its own models would be silently ignored: refused, naming the
    keys and where our settings live."""
    freqai = {"feature_parameters": {"label_period_candles": 12},
              "model_training_parameters": {"n_estimators": 800, "learning_rate": 0.02}}
    with pytest.raises(ConfigError, match=r"^freqai\.model_training_parameters \(learning_rate, "
                       r"n_estimators\) is not read by SelfLearningModel: its settings are in "
                       r"freqai\.self_learning \(.*\bepochs\b.*\)"):
        parse_config(freqai)
