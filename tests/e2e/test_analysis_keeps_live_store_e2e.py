"""End to end: freqtrade's own bias analyser, run with the live bot's config, keeps what the live
model learned.

`freqtrade recursive-analysis` (like lookahead-analysis) deletes FreqAI's model folder
`user_data/models/<identifier>/` before each of its backtests. The live store used to sit
inside it. Here an earlier release's bot left its store there; a dry-run start of this release
moves it out (in-process: SelfLearningRuntime.for_run, as SelfLearningModel calls it), learns
on, saves; then the real CLI runs the analysis on the same user_data and identifier (one pair,
two backtest days, one extra startup-candle count: ~20 s). The live store is byte-identical
afterwards, while the analyser did delete the model folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from backtest_support import (
    SHORT_PAIR,
    SHORT_TIMERANGE,
    SHORT_TRAIN_DAYS,
    BacktestRun,
    small_run,
)
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.runtime.lifecycle import RunContext, SelfLearningRuntime
from self_learning.runtime.run_stores import live_store
from self_learning.store import writer_lock

FAST_MODEL = {"epochs": 2, "incremental_epochs": 1}
PAIR = "BTC/USDT"  # the live store's pair (any: the analyser must not touch it)
TIMEOUT_S = 600


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def live_bot_learns(user_data: Path, identifier: str) -> Path:
    """An earlier release's store in FreqAI's model folder, then a dry-run start of this
    release on it (moved out, one more training, saved, stopped); returns the live store."""
    live = live_store(user_data, identifier)
    candles = planted_candles(1300, seed=3)
    deterministic()
    earlier = SelfLearningRuntime(small_config(), live.legacy, TIMEFRAME_S)
    earlier.fit(PAIR, FEATURES, candles.rows(slice(0, 1000)))
    assert earlier.shutdown()
    run = RunContext(user_data / "models" / identifier, live, TIMEFRAME_S, "dry_run", None,
                     None, [PAIR], lambda text: None, False)
    bot = SelfLearningRuntime.for_run(small_config(), run)
    try:
        assert bot.store.root == live.root and not live.legacy.exists()
        assert bot.fit(PAIR, FEATURES, candles.rows(slice(0, 1200))).training_counter == 2
        assert bot.shutdown()
    finally:
        writer_lock.release(live.root)  # the bot has stopped
    return live.root


@pytest.mark.e2e
def test_recursive_analysis_with_the_live_bots_config_keeps_the_live_store(
        ft_config, replay_overlay, market_datadir, freqtrade_cli):
    """The analyser runs, trains and deletes the identifier's model folder (a file FreqAI's
    live bot would have there is gone); the live store, which the bot moved out of that
    folder at its start, is still there with every file byte-identical."""
    identifier = small_run(ft_config.data, [SHORT_PAIR], "analysed", model=FAST_MODEL,
                           train_period_days=SHORT_TRAIN_DAYS)
    user_data = Path(ft_config.data["user_data_dir"])
    root = live_bot_learns(user_data, identifier)
    models = user_data / "models" / identifier
    (models / "historic_predictions.pkl").write_bytes(b"the live bot's")  # FreqAI's own
    before = files_of(root)
    assert any(name.endswith("/CURRENT") for name in before), sorted(before)

    options = BacktestRun(ft_config, replay_overlay, market_datadir, SHORT_TIMERANGE).options()
    run = freqtrade_cli(["recursive-analysis", *options, "--startup-candle", "150"],
                        timeout=TIMEOUT_S)

    assert run.returncode == 0, run.describe()
    assert "full training of" in run.log, "SelfLearningModel never trained\n" + run.describe()
    assert not (models / "historic_predictions.pkl").exists(), \
        "the analyser no longer deletes the model folder: this test proves nothing"
    assert files_of(root) == before, "the analysis changed or deleted the live store"
    assert not live_store(user_data, identifier).legacy.exists()
