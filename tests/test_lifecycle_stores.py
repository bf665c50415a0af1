"""Which stored learner a run may load: restores that travel in time are refused, a run's
own store is replaced when it holds a later run, a backtest can start from the live model
(read only) when asked, and the shutdown line names every pair's counter."""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import shutil
from pathlib import Path

import pytest
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.candles.timeline import NEVER, RestoreRefused, iso_utc, travels_in_time
from self_learning.runtime.lifecycle import RunContext, SelfLearningRuntime
from self_learning.runtime.run_stores import live_store

PAIR = "BTC/USDT"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1600, seed=5)


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def live_runtime(root: Path) -> SelfLearningRuntime:
    deterministic()
    return SelfLearningRuntime(small_config(), root, TIMEFRAME_S)


def backtest_runtime(root: Path, seed: Path | None = None) -> SelfLearningRuntime:
    deterministic()
    return SelfLearningRuntime(small_config(), root, TIMEFRAME_S, background_saves=False,
                               seed_root=seed, store_is_live=False)


def trained_store(root: Path, candles, end: int) -> int:
    """A live store whose pair learned candles[:end]; returns its last learned candle."""
    runtime = live_runtime(root)
    runtime.fit(PAIR, FEATURES, candles.rows(slice(0, end)))
    assert runtime.shutdown()
    return runtime.learners.known(PAIR).last_learned_ts


@pytest.mark.parametrize(("stored_until", "newest", "travels"), [
    (1000, 1000, False),   # a restart on the very candles the store learned up to
    (1000, 1300, False), (1000, 700, True), (NEVER, 700, False), (1000, None, False)])
def test_a_restore_travels_in_time_only_when_the_store_knows_a_later_candle(
        stored_until, newest, travels):
    assert travels_in_time(stored_until, newest) is travels


def test_live_store_refuses_a_restore_that_travels_in_time(tmp_path, candles, caplog):
    """Data that ends before the stored learner's last candle: one error line saying what to
    do, RestoreRefused on every try (logged once), nothing written to the store; once the
    data reaches past that candle the learner loads and learns on."""
    root = tmp_path / "self_learning"
    learned = trained_store(root, candles, 1200)
    before = files_of(root)
    caplog.set_level(logging.INFO)
    runtime = live_runtime(root)
    older = candles.rows(slice(0, 800))
    message = (rf"Refusing to load {PAIR}: the models of {PAIR} in \S+ learned candles up to "
               rf"{iso_utc(learned)}, later than the newest candle of the data now "
               rf"\({iso_utc(int(older.ts[-1]))}\).*move \S+ away to start it fresh")
    for _ in range(2):
        with pytest.raises(RestoreRefused, match=message):
            runtime.fit(PAIR, FEATURES, older)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and re.search(message, errors[0].getMessage())
    assert runtime.learners.known(PAIR) is None and runtime.shutdown()
    assert files_of(root) == before

    report = runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1300)))
    assert report.mode == "incremental" and report.samples > 0
    assert re.search(rf"Restored {PAIR}: training counter 1 .*last learned candle {ISO}$",
                     caplog.text, re.MULTILINE)


def test_backtest_store_replaces_an_earlier_run_that_knows_later_candles(tmp_path, candles,
                                                                        caplog):
    """A run's own store holding a later run of the same backtest is not resumed: one
    warning, then fresh models trained on this run's data, saved into the same folder."""
    root = tmp_path / "self_learning_runs" / "backtest-x"
    first = backtest_runtime(root)
    first.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    first.saves.save_unsaved()  # what the run saves at exit
    caplog.set_level(logging.INFO)
    again = backtest_runtime(root)
    report = again.fit(PAIR, FEATURES, candles.rows(slice(0, 800)))
    again.saves.save_unsaved()
    assert report.mode == "full" and report.training_counter == 1
    # the restore's warnings only: a loaded machine may add autosave's slow-save warning
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "self_learning.runtime.restoring"]
    assert len(warnings) == 1 and warnings[0].startswith(f"Not resuming {PAIR}: ")
    assert "from an earlier run of this backtest" in warnings[0]
    assert f"created new model encoder for {PAIR}" in caplog.text
    assert again.store.pair(PAIR).versions == [1, 2]


def test_backtest_resumes_its_own_store_when_it_knows_only_earlier_candles(tmp_path, candles):
    """An interrupted backtest's store (learned up to an earlier window) is resumed."""
    root = tmp_path / "run"
    interrupted = backtest_runtime(root)
    interrupted.fit(PAIR, FEATURES, candles.rows(slice(0, 1000)))
    interrupted.saves.save_unsaved()
    report = backtest_runtime(root).fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert report.mode == "incremental" and report.samples > 0 and report.training_counter == 2


def test_backtest_starts_from_the_live_model_only_when_it_learned_nothing_later(
        tmp_path, candles, caplog):
    """backtest_from_live_model: check_seed refuses a live model that learned candles at or
    after the run's first candle; for a later start the run loads it, learns the new
    candles, and saves into its own store; the live store stays byte-identical."""
    live = tmp_path / "self_learning"
    learned = trained_store(live, candles, 1000)
    before = files_of(live)
    runtime = backtest_runtime(tmp_path / "run", seed=live)
    with pytest.raises(RestoreRefused, match=(
            rf"backtest_from_live_model: the live model in \S+ knows candles from this "
            rf"run's start \({iso_utc(learned)}\) on: {PAIR} learned candles up to {ISO}\. .*set "
            "backtest_from_live_model to false")):
        runtime.learners.check_seed([PAIR], learned)
    runtime.learners.check_seed([PAIR, "ETH/USDT"], int(candles.ts[1000]))  # starts after: allowed

    caplog.set_level(logging.INFO)
    report = runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    runtime.saves.save_unsaved()
    assert f"Restored {PAIR} from the live model: training counter 1" in caplog.text
    assert report.mode == "incremental" and report.samples > 0
    assert runtime.store.pair(PAIR).versions == [1]
    assert files_of(live) == before


def test_a_backtest_does_not_start_from_a_live_model_that_served_its_candles(
        tmp_path, candles):
    """Live without per-candle learning, the served candles are folded into the novelty
    statistics and saved as seen: backtest_from_live_model refuses a run that starts at or
    before the newest of them (the statistics hold its candles), as it does for stepped ones,
    and its message (like the live store's refusal) says they were served, not learned, and
    up to which candle the model did learn (its training's)."""
    live = tmp_path / "self_learning"
    deterministic()
    runtime = SelfLearningRuntime(small_config(online_learning=False), live, TIMEFRAME_S)
    learned = iso_utc(runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1000))).last_learned_ts)
    runtime.predict(PAIR, FEATURES, candles.rows(slice(0, 1100)), learn=False)
    assert runtime.shutdown()
    backtest = backtest_runtime(tmp_path / "run", seed=live)
    served = (rf"{PAIR} served candles up to {iso_utc(int(candles.ts[1099]))} \(folded into its "
              r"novelty statistics, without per-candle learning; it learned candles up to "
              rf"{learned}\)\. Starting from it")
    with pytest.raises(RestoreRefused, match=served):
        backtest.learners.check_seed([PAIR], int(candles.ts[1050]))
    backtest.learners.check_seed([PAIR], int(candles.ts[1100]))  # starts after the served candles
    with pytest.raises(RestoreRefused, match=rf"in \S+ served candles up to "
                       rf"{iso_utc(int(candles.ts[1099]))} \(folded .* up to "
                       rf"{learned}\), later than"):
        live_runtime(live).learners.learner(PAIR, FEATURES, int(candles.ts[1050]))


def test_a_prequential_backtest_saves_each_window_once_after_stepping_it(tmp_path, candles):
    """A backtest (saves in place) writes one version per FreqAI window: FreqAI trains a
    window, then predicts it, and the version is written after its candles are stepped, so
    it holds the state the next window's training starts from (what a rerun of an
    interrupted backtest resumes)."""
    runtime = backtest_runtime(tmp_path / "run")
    store = runtime.store.pair(PAIR)
    for window, end in enumerate((1000, 1150, 1300), start=1):
        runtime.fit(PAIR, FEATURES, candles.rows(slice(0, end - 150 if window > 1 else end)))
        assert len(store.versions) == window - 1, "a training saved before its window stepped"
        runtime.predict(PAIR, FEATURES, candles.rows(slice(0, end)), learn=True)
        assert len(store.versions) == window
    learner = runtime.learners.known(PAIR)
    assert runtime.saves.save_unsaved() == []  # nothing left for the exit
    again = backtest_runtime(tmp_path / "run").learners.learner(PAIR, FEATURES)
    assert again.training_counter == learner.training_counter
    assert again.last_seen_ts == learner.last_seen_ts == int(candles.ts[1299])
    runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1300)))  # unsaved until it steps
    shutil.rmtree(tmp_path / "run")  # what freqtrade's analysis commands do between runs
    assert runtime.saves.save_unsaved() == [] and not (tmp_path / "run").exists()


def test_a_backtest_leaves_its_heap_to_the_os_at_exit_and_a_live_run_does_not(tmp_path):
    """At interpreter exit a backtest's runtime, which ends with its process, freezes the
    objects alive (gc.freeze): CPython's finalization then skips them instead of collecting
    the whole heap (~2.5 s of CPU after a 1h holdout backtest). A live runtime leaves the
    collector as it is."""
    gc.unfreeze()
    try:
        live_runtime(tmp_path / "live").saves.at_exit()
        assert gc.get_freeze_count() == 0
        backtest_runtime(tmp_path / "run").saves.at_exit()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_backtest_without_per_candle_learning_saves_each_window_after_serving_it(
        tmp_path, candles):
    """Without per-candle learning a backtest also writes one version per window, after
    serving its candles: the version holds the novelty statistics they were folded into, so
    a resumed backtest scores the next window as an uninterrupted one does."""
    deterministic()
    runtime = SelfLearningRuntime(small_config(prequential_backtest=False), tmp_path / "run",
                                  TIMEFRAME_S, background_saves=False, store_is_live=False)
    store = runtime.store.pair(PAIR)
    for window, end in enumerate((1000, 1150), start=1):
        runtime.fit(PAIR, FEATURES, candles.rows(slice(0, end - 150 if window > 1 else end)))
        assert len(store.versions) == window - 1, "a training saved before its window served"
        runtime.predict(PAIR, FEATURES, candles.rows(slice(0, end)), learn=False)
        assert len(store.versions) == window
    state = runtime.learners.known(PAIR).state
    again = SelfLearningRuntime(small_config(prequential_backtest=False), tmp_path / "run",
                                TIMEFRAME_S, background_saves=False, store_is_live=False)
    restored = again.learners.learner(PAIR, FEATURES).state
    assert restored.novelty_mean.numpy() == state.novelty_mean.numpy()
    assert restored.novelty_var.numpy() == state.novelty_var.numpy()


def test_shutdown_line_names_each_pairs_counter(tmp_path, candles, caplog):
    """`models saved: ...` lists every pair with its own training counter."""
    runtime = live_runtime(tmp_path)
    runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 900)))
    runtime.fit("ETH/USDT", FEATURES, candles.rows(slice(0, 900)))
    runtime.fit("ETH/USDT", FEATURES, candles.rows(slice(0, 1000)))
    caplog.set_level(logging.INFO)
    assert runtime.shutdown()
    assert re.search(r"models saved: \d pair\(s\) written at shutdown in [0-9.]+ s; training "
                     rf"counter per pair: {PAIR} 1, ETH/USDT 2$", caplog.text, re.MULTILINE)


def run_context(user_data: Path, mode: str, timerange: str | None = None,
                start_ts: int | None = None, tensorboard: bool = False) -> RunContext:
    """What the adapter passes for identifier `bot` in `user_data`."""
    return RunContext(user_data / "models" / "bot", live_store(user_data, "bot"), TIMEFRAME_S,
                      mode, timerange, start_ts, [PAIR], lambda text: None, tensorboard)


def test_a_live_start_moves_the_legacy_store_out_and_resumes_it(tmp_path, candles, caplog):
    """A dry-run on a user_data where an earlier release learned (its store inside FreqAI's
    model folder, which freqtrade's analysers delete): the store moves to
    user_data/self_learning/<identifier> before it is opened, the pair resumes from it. Its
    TensorBoard logs stay where they were, in FreqAI's model folder."""
    live = live_store(tmp_path, "bot")
    trained_store(live.legacy, candles, 1000)
    files = files_of(live.legacy)
    caplog.set_level(logging.INFO)
    deterministic()
    runtime = SelfLearningRuntime.for_run(small_config(),
                                          run_context(tmp_path, "dry_run", tensorboard=True))
    assert runtime.store.root == live.root and files_of(live.root) == files
    assert not live.legacy.exists()
    assert f"Moved the model store {live.legacy} to {live.root}" in caplog.text
    logs = tmp_path / "models" / "bot" / "tensorboard"
    assert f"TensorBoard: per-pair scalars go to {logs} " in caplog.text
    report = runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert report.mode == "incremental" and report.training_counter == 2
    assert runtime.shutdown()
    assert runtime.store.pair(PAIR).versions == [1, 2]


def test_a_backtest_from_the_live_model_reads_the_legacy_store_and_never_moves_it(
        tmp_path, candles, caplog):
    """backtest_from_live_model before the bot has run since the upgrade: the backtest starts
    from the store in its legacy place, read only: it stays there, byte-identical, and no
    live store is created."""
    live = live_store(tmp_path, "bot")
    trained_store(live.legacy, candles, 1000)
    files = files_of(live.legacy)
    caplog.set_level(logging.INFO)
    deterministic()
    runtime = SelfLearningRuntime.for_run(
        small_config(backtest_from_live_model=True),
        run_context(tmp_path, "backtest", "20231115-", int(candles.ts[1000])))
    assert runtime.seed is not None and runtime.seed.root == live.legacy
    runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    runtime.saves.save_unsaved()
    runtime.saves.saver.wait_idle(60)
    assert f"Restored {PAIR} from the live model: training counter 1" in caplog.text
    assert files_of(live.legacy) == files and not live.root.exists()
