"""`freqai.continual_learning` (and FreqAI's `save_backtest_models`) do not change what
SelfLearningModel learns: it keeps its learners and its own store, so a retrain after the first
is an incremental update whatever the key says (the demo market's two-window backtest made the
same 12 trades with either key or both false). An explicit `continual_learning: false` would
be silently ignored, so the start-up checks warn once, naming the key (README
"Configuration")."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
from fit_support import PAIR, kitchen, training_frame
from freqtrade.enums import RunMode

from self_learning.startup_checks import CONTINUAL_LEARNING_IGNORED, check_startup

ROOT = Path(__file__).resolve().parents[1]
ONE_HOUR = 3600


def shipped(**freqai) -> dict:
    config = json.loads((ROOT / "config.json").read_text())
    config.update(runmode=RunMode.BACKTEST)
    config["api_server"]["enabled"] = False
    config["exchange"]["pair_whitelist"] = [PAIR]
    config["freqai"].update(freqai)
    return config


@pytest.mark.parametrize(("freqai", "model", "warned"), [
    ({"continual_learning": False}, True, True),
    ({"continual_learning": True}, True, False),
    ({}, True, False),                              # absent: nothing the user asked for
    ({"continual_learning": False}, False, False),  # another FreqAI model honours the key
])
def test_an_ignored_continual_learning_false_is_warned_about(freqai, model, warned):
    config = shipped(**freqai)
    if not freqai:
        del config["freqai"]["continual_learning"]
    verdict = check_startup(config, ONE_HOUR, model=model)
    assert verdict.refusals == ()
    assert (CONTINUAL_LEARNING_IGNORED in verdict.warnings) is warned
    if warned:
        assert CONTINUAL_LEARNING_IGNORED.startswith("freqai.continual_learning is false")


@pytest.mark.parametrize("keys", [
    {"continual_learning": False},
    {"save_backtest_models": False},
])
def test_retrains_go_on_from_the_previous_training_whatever_the_freqai_keys(tmp_path, caplog,
                                                                             keys):
    """A second training of the pair is an incremental update of the first (training counter
    2, only the newer samples), and the model logs the continual_learning warning at load."""
    from SelfLearningModel import SelfLearningModel

    config = shipped(**keys)
    config["user_data_dir"] = tmp_path
    config["freqai"]["self_learning"] = {**copy.deepcopy(config["freqai"]["self_learning"]),
                                         "epochs": 1, "incremental_epochs": 1}
    with caplog.at_level(logging.INFO):
        model = SelfLearningModel(config=config)
        try:
            candles = training_frame(900)
            first = model.fit({"frame": candles.iloc[:800]}, kitchen(model))
            second = model.fit({"frame": candles.iloc[100:]}, kitchen(model))
        finally:
            model.shutdown()
    messages = [r.getMessage() for r in caplog.records]
    assert (first.training_counter, second.training_counter) == (1, 2)
    assert any(m.startswith(f"full training of {PAIR}") for m in messages), messages
    assert any(m.startswith(f"incremental update of {PAIR}: 100 new samples") for m in messages), \
        messages
    warned = [m for m in messages if m == CONTINUAL_LEARNING_IGNORED]
    assert len(warned) == (1 if "continual_learning" in keys else 0), warned
