"""Telemetry on a real runtime (real TensorFlow, real saves): TensorBoard event files read
back with TensorBoard's own reader, and the notifications the model hands to freqtrade."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace

import numpy as np
import pytest
from synthetic import (
    FEATURES,
    TIMEFRAME_S,
    planted_candles,
    small_runtime,
)

from self_learning.candles.predictions import Predictions
from self_learning.candles.samples import Candles
from self_learning.candles.timeline import iso_utc
from self_learning.runtime.run_stores import live_store
from self_learning.telemetry import (
    FitDone,
    Notifier,
    ResponseStarted,
    RuntimeObserver,
    TensorBoardWriter,
    logdir_for,
    messages,
)

PAIRS = ["BTC/USDT", "ETH/USDT"]
MARKDOWN = set("_*`[")


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1500, seed=5)


class Recorder(RuntimeObserver):
    """Keeps what the runtime reported, to compare the files and messages against."""

    def __init__(self):
        self.steps = []
        self.saves = []

    def stepped(self, pair, predictions):
        self.steps.append((pair, predictions))

    def saved(self, save):
        self.saves.append(save)


def read_scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def test_tensorboard_files_hold_every_stepped_candle_and_save(tmp_path, candles):
    """Every stepped candle is one event per scalar at step = the pair's training counter
    with the candle's time as wall time; losses, scoreboard (and how many matured predictions
    it holds), novelty, drift, training counter, save and fit durations are what the runtime
    computed; TensorBoard's EventAccumulator reads them back."""
    rt = small_runtime(live_store(tmp_path, "id").root, save_interval=20)
    logdir = logdir_for(tmp_path / "models" / "id", None)  # the live store's: where it was
    assert logdir == tmp_path / "models" / "id" / "tensorboard"
    assert logdir_for(tmp_path / "models" / "id", "backtest-all") == logdir / "backtest-all"
    recorder = Recorder()
    rt.observer.add(recorder)
    rt.observer.add(TensorBoardWriter(logdir))
    rt.fit(PAIRS[0], FEATURES, candles.rows(slice(0, 1200)))
    rt.predict(PAIRS[0], FEATURES, candles.rows(slice(0, 1260)), learn=True)
    for end in range(1261, 1271):  # live: one new candle per call
        rt.predict(PAIRS[0], FEATURES, candles.rows(slice(end - 300, end)), learn=True)
    assert rt.shutdown()

    scalars = read_scalars(logdir / "BTC_USDT")
    ts = np.concatenate([p.ts for _, p in recorder.steps])
    assert len(ts) == len(np.unique(ts)) >= 70  # from the last learned candle on
    stepped = scalars["model/training_counter"]
    want = np.concatenate([p.training_counter for _, p in recorder.steps])
    assert [e.step for e in stepped] == want.tolist()  # learned samples, not candle indexes
    assert want[-1] - want[0] >= 60 and np.all(np.diff(want) >= 0)
    assert [e.wall_time for e in stepped] == ts.astype(float).tolist()
    assert [e.value for e in stepped] == want.astype(float).tolist()
    matured = np.concatenate([p.scores["board_n"] for _, p in recorder.steps])
    assert [e.value for e in scalars["scoreboard/matured"]] == matured.tolist()
    assert 0 < matured[-1] <= rt.config.scoreboard_candles
    for tag, name in (("scoreboard/ic", "ic"), ("loss/feature_discovery", "loss_discovery"),
                      ("drift/alarm", "drift"), ("model/since_learned", "since_learned")):
        values = np.concatenate([p.scores[name] for _, p in recorder.steps]).astype(np.float32)
        finite = values[np.isfinite(values)]
        assert len(finite) > 0, name
        np.testing.assert_array_equal([e.value for e in scalars[tag]], finite)
    for tag in ("loss/autoencoder", "loss/liquidity", "scoreboard/hit_rate",
                "scoreboard/band_up", "scoreboard/band_down", "model/novelty", "drift/alarms"):
        assert scalars[tag], tag
    assert len(scalars["save/seconds"]) == len(recorder.saves) >= 2
    assert [e.value for e in scalars["save/seconds"]] == pytest.approx(
        [s.seconds for s in recorder.saves])
    assert [e.step for e in scalars["save/seconds"]] == [s.training_counter
                                                         for s in recorder.saves]
    assert [e.step for e in scalars["fit/seconds"]] == [1]  # the counter after the training


def test_notifications_startup_summary_drift_alarms_and_scoreboard(tmp_path, candles, caplog):
    """One start-up summary once both pairs have models (created, then loaded with version
    and counter after a restart), one log line per drift alarm but one message for the
    alarms within drift_notify_hours (a week; the test steps 200 candles of 5 minutes), and the
    scoreboard summary when its interval has passed (a clock the test moves)."""
    sent: list[str] = []
    now = [0.0]
    touchy = {"drift_threshold": 0.01, "drift_delta": 0.0, "scoreboard_candles": 10}
    rt = small_runtime(tmp_path, save_interval=1000, **touchy)
    rt.observer.add(Notifier(sent.append, PAIRS, "dry_run", summary_hours=1.0,
                             scoreboard_candles=rt.config.scoreboard_candles,
                             clock=lambda: now[0]))
    for pair in PAIRS:
        rt.fit(pair, FEATURES, candles.rows(slice(0, 1200)))
        assert len(sent) == (pair == PAIRS[-1])
    assert sent[0].splitlines() == ["SelfLearning model started (dry-run) for 2 pair(s):",
                                    "BTC/USDT: new models (none stored when it started)",
                                    "ETH/USDT: new models (none stored when it started)"]
    recorder = Recorder()
    rt.observer.add(recorder)
    caplog.set_level(logging.INFO)
    rt.predict(PAIRS[0], FEATURES, candles.rows(slice(0, 1400)), learn=True)
    alarms = int(sum((p.scores["drift"] > 0.5).sum() for _, p in recorder.steps))
    assert alarms == int(rt.learners.known(PAIRS[0]).state.drift_alarms.numpy()) > 0
    drift = [m for m in sent if m.startswith("SelfLearning: drift alarm for BTC/USDT")]
    assert alarms > 1 and len(drift) == 1
    assert caplog.text.count("drift alarm for BTC/USDT") == alarms
    assert caplog.text.count("Not notified") == alarms - 1
    assert not any(m.startswith("SelfLearning scoreboard") for m in sent)

    now[0] = 3601.0
    rt.predict(PAIRS[0], FEATURES, candles.rows(slice(1100, 1401)), learn=True)
    summary = [m for m in sent if m.startswith("SelfLearning scoreboard")]
    assert len(summary) == 1
    last = recorder.steps[-1][1]
    assert f"BTC/USDT: IC {last.scores['ic'][-1]:.3f}, hit-rate " in summary[0]
    assert f"drift alarms {alarms}; scores over 10 matured predictions; as of" in summary[0]
    assert int(last.scores["board_n"][-1]) == 10 == rt.config.scoreboard_candles
    assert all(not MARKDOWN & set(m) for m in sent)
    assert rt.shutdown()

    sent.clear()
    again = small_runtime(tmp_path, **touchy)
    again.observer.add(Notifier(sent.append, PAIRS, "live"))
    for pair in PAIRS:
        again.learners.learner(pair, FEATURES)
    versions = {p: again.store.pair(p).versions[-1] for p in PAIRS}
    lines = sent[0].splitlines()
    assert lines[0] == "SelfLearning model started (live) for 2 pair(s):"
    for pair, line in zip(PAIRS, lines[1:], strict=True):
        counter = again.learners.known(pair).training_counter
        assert line.startswith(f"{pair}: loaded version {versions[pair]}, training counter "
                               f"{counter}, last learned candle 20")


def alarms_at(candle_numbers, start=1736848800):
    """A stepped block of 5m candles with drift alarms on the given candles."""
    n = max(candle_numbers) + 1
    drift = np.zeros(n)
    drift[list(candle_numbers)] = 1.0
    return Predictions(start + TIMEFRAME_S * np.arange(n), *np.zeros((4, n)),
                       np.full(n, 3), np.ones(n, bool), scores={"drift": drift})


def test_a_pairs_drift_alarms_are_notified_once_per_cooldown_and_each_is_logged(caplog):
    """With drift_notify_hours = 1 (12 candles of 5 minutes) a pair's alarms within an hour
    of candles after its last alarm message are only logged, and its next message counts
    them; each pair has its own cooldown; blocks stepped one after the other share it."""
    sent: list[str] = []
    notifier = Notifier(sent.append, PAIRS, "live", drift_notify_hours=1.0)
    caplog.set_level(logging.INFO)
    notifier.stepped("BTC/USDT", alarms_at([0, 1, 2, 5]))
    notifier.stepped("ETH/USDT", alarms_at([1]))
    notifier.stepped("BTC/USDT", alarms_at([12, 13, 30]))
    btc = [m for m in sent if "BTC/USDT" in m]
    assert [m.split(" (")[1].split(")")[0] for m in btc] == [
        "alarm 1 this run", "alarm 5 this run; 3 more alarms since the last message, only "
        "logged", "alarm 7 this run; 1 more alarm since the last message, only logged"]
    assert [m.split(" at candle ")[1][:19] for m in btc] == [
        "2025-01-14T10:00:00", "2025-01-14T11:00:00", "2025-01-14T12:30:00"]
    assert len(sent) == 4 and "ETH/USDT at candle 2025-01-14T10:05:00Z (alarm 1 " in sent[1]
    assert caplog.text.count("drift alarm for BTC/USDT") == 7
    assert caplog.text.count("Not notified: the last alarm message of this pair was at candle "
                             "2025-01-14T10:00:00Z (drift_notify_hours = 1)") == 3
    assert all(not MARKDOWN & set(m) for m in sent)
    every = Notifier(sent.append, PAIRS, "live", drift_notify_hours=0.0)
    sent.clear()
    every.stepped("BTC/USDT", alarms_at([0, 1, 2]))
    assert len(sent) == 3


def test_a_drift_response_is_notified_when_it_starts_and_ends_with_the_held_back_alarms():
    """A response's start and the training that settles it are always notified, within the
    alarm cooldown too; each counts the pair's alarms only logged since its last message
    (once). A training that settles nothing (no challenge, or still on trial) says nothing."""
    sent: list[str] = []
    notifier = Notifier(sent.append, PAIRS, "live", drift_notify_hours=24.0)
    notifier.stepped("BTC/USDT", alarms_at([0, 1, 2]))
    notifier.response_started(ResponseStarted("BTC/USDT", 1736849700, 1))
    assert sent[-1].startswith(
        "SelfLearning: drift response for BTC/USDT by candle 2025-01-14T10:15:00Z (response 1 "
        "this run; 2 more alarms since the last message, only logged): after a drift alarm")
    assert sent[-1].endswith("The model from before it is served until the response "
                             "predicts better; a training settles which one stays.")
    notifier.stepped("BTC/USDT", alarms_at([3]))
    for challenge in (None, "on trial"):
        notifier.fitted(FitDone("BTC/USDT", "incremental", 10, 0.1, 40, 0, challenge))
    assert len(sent) == 2
    notifier.fitted(FitDone("BTC/USDT", "incremental", 10, 0.1, 41, 0, "restored"))
    assert sent[-1] == ("SelfLearning: drift response for BTC/USDT ended at a training "
                        "(training counter 41; 1 more alarm since the last message, only "
                        "logged): undone, the model from before it predicted better and is "
                        "served again.")
    notifier.fitted(FitDone("BTC/USDT", "incremental", 10, 0.1, 42, 0, "kept"))
    assert sent[-1].endswith("(training counter 42): kept, it predicted better than the model "
                             "from before it.")
    at_once = Notifier(sent.append, PAIRS, "live", drift_challenge=False)
    at_once.response_started(ResponseStarted("ETH/USDT", 1736849700, 2))
    assert "(response 2 this run)" in sent[-1] and sent[-1].endswith("It is served at once.")
    assert all(not MARKDOWN & set(m) for m in sent)


def test_the_runtime_reports_a_drift_response_and_the_training_that_settles_it(tmp_path):
    """After the planted signal flips, the per-candle step responds to a drift alarm: the
    runtime tells its observers once per response started (with the newest candle stepped),
    and the next training's settlement reaches them in FitDone."""
    c = planted_candles(1800, seed=11, strength=0.6)
    features = c.features.copy()
    features[1500:, 0] *= -1.0
    flipped = Candles(c.ts, c.ohlcv, features)
    rt = small_runtime(tmp_path, drift_threshold=1.0, scoreboard_candles=50, save_interval=10000)
    sent: list[str] = []
    rt.observer.add(Notifier(sent.append, ["BTC/USDT"], "dry_run"))
    rt.fit("BTC/USDT", FEATURES, flipped.rows(slice(0, 1500)))
    rt.predict("BTC/USDT", FEATURES, flipped.rows(slice(0, 1800)), learn=True)
    responses = int(rt.learners.known("BTC/USDT").state.drift_responses.numpy())
    started = [m for m in sent if m.startswith("SelfLearning: drift response for BTC/USDT by")]
    assert responses >= 1 and len(started) == 1
    assert f"(response {responses} this run" in started[0]
    assert f"by candle {iso_utc(int(flipped.ts[1799]))}" in started[0]
    report = rt.fit("BTC/USDT", FEATURES, flipped.rows(slice(300, 1800)))
    assert report.challenge in ("kept", "restored")
    assert sent[-1].startswith("SelfLearning: drift response for BTC/USDT ended at a training "
                               f"(training counter {report.training_counter}")
    assert rt.shutdown()


def test_save_failure_is_notified_once_per_streak_and_its_recovery(tmp_path, candles):
    """A store that cannot be written sends one message however many saves fail; the next
    save that lands sends one 'works again'."""
    sent: list[str] = []
    root = tmp_path / "store"
    rt = small_runtime(root, save_interval=5)
    rt.observer.add(Notifier(sent.append, [PAIRS[0]], "dry_run"))
    rt.fit(PAIRS[0], FEATURES, candles.rows(slice(0, 1200)))
    assert rt.saves.saver.wait_idle(120)
    shutil.move(root, tmp_path / "moved")
    root.write_text("not a folder")
    for end in (1215, 1230):
        rt.predict(PAIRS[0], FEATURES, candles.rows(slice(0, end)), learn=True)
        assert rt.saves.saver.wait_idle(120)
    failed = [m for m in sent if "failed" in m]
    assert failed == [messages.save_failed(PAIRS[0], NotADirectoryError())]
    root.unlink()
    shutil.move(tmp_path / "moved", root)
    rt.predict(PAIRS[0], FEATURES, candles.rows(slice(0, 1245)), learn=True)
    assert rt.saves.saver.wait_idle(120)
    assert sent[-1].startswith("SelfLearning: saving BTC/USDT works again (training counter")
    assert rt.shutdown()


@pytest.mark.parametrize(("start", "line"), [
    (messages.PairStart("BTC/USDT", "loaded", 12, 340, 1736848800),
     "BTC/USDT: loaded version 12, training counter 340, last learned candle "
     "2025-01-14T10:00:00Z"),
    (messages.PairStart("ETH/USDT", "created"),
     "ETH/USDT: new models (none stored when it started)"),
    (messages.PairStart("XRP/USDT", "refused", detail="x"),
     "XRP/USDT: REFUSED, no predictions (see the log)"),
])
def test_startup_message_line_per_pair(start, line):
    assert messages.startup([start], "live").splitlines() == [
        "SelfLearning model started (live) for 1 pair(s):", line]


def test_long_pair_lists_are_capped():
    """A message for 100 pairs stays far below Telegram's 4096 characters."""
    starts = [messages.PairStart(f"P{i:03d}/USDT", "created") for i in range(100)]
    text = messages.startup(starts, "live")
    assert len(text) < 4096
    assert text.endswith("... and 60 more pairs")


def test_scoreboard_says_how_many_matured_predictions_it_is_over():
    """A pair with fewer matured predictions than the window says its real count; a line
    whose count is not known (a backtest report) claims none."""
    line = messages.ScoreLine("BTC/USDT", 1736848800, 0.1, 0.5, 0.5, 0.5, 0.0, 20, 0, 12)
    text = messages.scoreboard([line, replace(line, pair="ETH/USDT", matured=None)], 288)
    head, btc, eth = text.splitlines()
    assert head == ("SelfLearning scoreboard per pair, rolling over its last matured "
                    "predictions (at most 288):")
    assert btc.endswith("drift alarms 0; scores over 12 matured predictions; as of candle "
                        "2025-01-14T10:00:00Z")
    assert "matured" not in eth
    one = messages.latest_scores("BTC/USDT", Predictions(
        np.array([1736848800]), *np.zeros((3, 1)), np.zeros(1), np.array([20]),
        np.array([True]), scores={"board_n": np.array([7.0])}))
    assert one.matured == 7
