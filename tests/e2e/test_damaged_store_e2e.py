"""End to end, live: every stored version of a pair damaged -> no trading until a full training.

The real `freqtrade trade --dry-run` CLI against the replay exchange in realtime mode (one pair
of real candles on a 1m grid, as test_live_store_e2e.py):

1. a first bot trains ETC/BTC (FreqAI saves its own model, the store a version), then is killed;
2. every stored version is damaged (its checkpoints zeroed: checksums no longer match), so the
   restarted bot's FreqAI has a model for the pair but the store has nothing usable; and
   FreqAI's own historic_predictions.pkl is cut as a kill while FreqAI rewrites it cuts it
   (freqtrade alone would not start on it): the restarted bot sets it aside and puts FreqAI's
   backup in its place (runtime/freqai_files.py), with one warning;
3. the restarted bot gives the pair no tradable row (`do_predict = 0`, training counter 0)
   and learns nothing per candle until FreqAI's next training, which is a full training (not an
   incremental update of untrained weights); the next candle after it is predicted
   (`do_predict = 1`).

FreqAI's retraining is timed to come into the second bot twice the first bot's start-up (its
first prediction round) plus 8 s after its start: after its first predictions on this machine,
and as early as that allows, since the round after the training waits for the next 1m candle.
About 1-2 minutes on two shared cores; every wait has a hard timeout.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import cloudpickle
import pandas as pd
import pytest
from live_support import (
    REALTIME_PAIR,
    REALTIME_PAIR_DIR,
    LiveBot,
    complete_versions,
    realtime_bot_args,
    realtime_bot_config,
    without_freqtrade_stop_race,
)

from self_learning.runtime.run_stores import live_store
from self_learning_offline.replay_exchange.overlay import write_replay_overlay

PAIR, PAIR_DIR = REALTIME_PAIR, REALTIME_PAIR_DIR
START_TIMEOUT_S = 300
ROUND_DONE = "Total time spent inferencing pairlist"  # FreqAI, once per prediction round
# FreqAI's retraining comes this long into the second bot: after its first prediction round,
# which takes about as long as the first bot's (start-up, download, indicators).
RETRAIN_AFTER_STARTUPS, RETRAIN_MARGIN_S = 2, 8
UNTRAINED = f"{PAIR} has no model from a completed full training yet"
FULL = f"full training of {PAIR}"
# FreqAI copies historic_predictions.pkl to it once that is written, after pair_dictionary.json
HISTORIC_BACKUP = "historic_predictions.backup.pkl"


def cut_freqai_cannot_read(whole: bytes) -> bytes:
    """The longest prefix of the pickle, at most half of it, that FreqAI cannot read: loading
    it raises something other than EOFError (FreqAI falls back to the backup on EOFError alone,
    data_drawer.load_historic_predictions_from_disk)."""
    for size in range(len(whole) // 2, 0, -1):
        try:
            cloudpickle.loads(whole[:size])
        except EOFError:
            continue
        except Exception:  # noqa: BLE001 - UnpicklingError, ValueError, ...: not handled
            return whole[:size]
    raise AssertionError("every cut of FreqAI's history ends in EOFError")


def trainings(log: str) -> list[str]:
    return re.findall(rf"(full training|incremental update) of {re.escape(PAIR)}:", log)


@pytest.mark.e2e
def test_damaged_store_gives_no_trades_until_a_full_training(realtime_exchange, tmp_path):
    overlay = write_replay_overlay(tmp_path / "config.replay.json", realtime_exchange.port)
    user_data = tmp_path / "user_data"
    user_data.mkdir()
    identifier = f"damaged-{uuid.uuid4().hex[:8]}"
    models = user_data / "models" / identifier
    settings = realtime_bot_config(user_data, tmp_path / "tradesv3.dryrun.sqlite", identifier,
                                   {"epochs": 2, "incremental_epochs": 1}, live_retrain_hours=1)
    bots: list[LiveBot] = []

    def start(name: str) -> LiveBot:
        config = tmp_path / f"config.{name}.json"
        config.write_text(json.dumps(settings))
        bots.append(LiveBot(name, ["--dry-run", *realtime_bot_args(overlay, config)], tmp_path))
        return bots[-1]

    try:
        # 1. trained, saved by FreqAI and by the store, then killed.
        bot = start("first")
        pair_dir = live_store(user_data, identifier).root / PAIR_DIR
        bot.wait_for("the first prediction round", lambda log: ROUND_DONE in log,
                     START_TIMEOUT_S)
        startup_s = time.time() - bot.started
        # FreqAI writes its files after a training in place (not atomically), the historic
        # predictions last and then their backup: a SIGKILL while it writes them would leave
        # the second bot a truncated pickle and no backup (freqtrade then fails to start).
        bot.wait_for("a full training, its saved version and FreqAI's files",
                     lambda log: FULL in log and pair_dir.is_dir()
                     and complete_versions(pair_dir)
                     and (models / HISTORIC_BACKUP).is_file(), START_TIMEOUT_S)
        bot.kill()

        # 2. every version damaged (FreqAI's own model is intact), FreqAI's history cut.
        versions = sorted(pair_dir.glob("v0*"))
        for version in versions:
            for data in version.glob("*/variables/variables.data-*"):
                data.write_bytes(b"\0" * data.stat().st_size)
        history = models / "historic_predictions.pkl"
        cut = cut_freqai_cannot_read(history.read_bytes())
        history.write_bytes(cut)
        trained_at = json.loads((models / "pair_dictionary.json").read_text())[PAIR][
            "trained_timestamp"]
        retrain_after = RETRAIN_AFTER_STARTUPS * startup_s + RETRAIN_MARGIN_S
        hours = (time.time() + retrain_after - trained_at) / 3600
        settings["freqai"]["live_retrain_hours"] = hours

        # 3. untrained until FreqAI's next training, a full one; then predicted.
        bot = start("second")
        bot.wait_for("the first prediction round", lambda log: ROUND_DONE in log,
                     START_TIMEOUT_S)
        bot.wait_for("FreqAI's next training", lambda log: trainings(log), START_TIMEOUT_S)
        rounds = bot.log().count(ROUND_DONE)
        bot.wait_for("a prediction round after it",
                     lambda log: log.count(ROUND_DONE) > rounds, 150)
        bot.terminate(60)
        log = bot.log()
        for version in versions:
            assert f"Skipping saved version {version}" in log, bot.describe()
        assert log.count(UNTRAINED) == 1, bot.describe()
        assert trainings(log)[0] == "full training", bot.describe()
        assert log.index(UNTRAINED) < log.index(FULL) < log.rindex(ROUND_DONE)
        assert not re.search(rf"learned \d+ candles for {re.escape(PAIR)}",
                             log[: log.index(FULL)]), "learned per candle before training"
        ours = without_freqtrade_stop_race(log)
        assert "Traceback" not in ours and " - ERROR - " not in ours, bot.describe()
        (aside,) = models.glob("historic_predictions.pkl.damaged-*")
        assert aside.read_bytes() == cut
        assert re.search(rf"FreqAI's {re.escape(str(history))} does not load \(.*\): set it "
                         rf"aside as {re.escape(aside.name)} and put its backup "
                         rf"{HISTORIC_BACKUP} in its place", log), bot.describe()

        predictions = pd.read_pickle(models / "historic_predictions.pkl")[PAIR]
        untrained = predictions["&-training_counter"] == 0
        assert untrained.sum() > 100, predictions.tail()
        assert (predictions.loc[untrained, "do_predict"] == 0).all(), predictions.tail()
        last = predictions.iloc[-1]
        assert last["&-training_counter"] >= 1 and last["do_predict"] == 1, predictions.tail()
        print(f"{int(untrained.sum())} rows untrained (do_predict 0); after the full training "
              f"counter {int(last['&-training_counter'])}, do_predict 1")
    finally:
        for running in bots:
            running.kill()
