"""A second `make dry-run` continues the first one's market: the replay exchange's clock, the
trades database and the model store stay consistent with each other (dry_run_state).

Before, every run mapped the recording onto the present from its own start: the candles the
first run had traded and learned were served again under new dates, and the dates it had
traded got other prices, while freqtrade's `tradesv3.dryrun.sqlite` and the model store kept
the first run's view.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from self_learning.runtime.run_stores import live_store
from self_learning_offline.dry_run_state import (
    CLOCK_FILE,
    PREVIOUS_DIR,
    DryRunState,
    ReplayClock,
    UnreadableClock,
    choose_clock,
    parse_clock,
)
from self_learning_offline.market import generate_candles
from self_learning_offline.replay_exchange.candles import HOUR_MS, MINUTE_MS
from self_learning_offline.replay_exchange.realtime import RealtimeSource
from self_learning_offline.replay_exchange.server import build_exchange

sys.path.insert(0, str(ROOT / "scripts"))
import dry_run  # noqa: E402

T0 = int(datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC).timestamp() * 1000)
FIVE_MIN = 5 * MINUTE_MS
HISTORY = 300


@pytest.fixture
def datadir(tmp_path) -> Path:
    folder = tmp_path / "exchange_data"
    folder.mkdir()
    frame = generate_candles("BTC/USDT", "5m", datetime(2025, 1, 1, tzinfo=UTC), 2000, seed=3)
    frame.to_feather(folder / "BTC_USDT-5m.feather")
    return folder


def start(tmp_path: Path, datadir: Path, now: int, monkeypatch, *extra: str) -> ReplayClock:
    """What scripts/dry_run.py does before it starts the exchange, at `now`."""
    monkeypatch.setattr(dry_run, "now_ms", lambda: now)
    args = dry_run.parse_args(["--datadir", str(datadir), "--rundir", str(tmp_path / "run"),
                               "--history", str(HISTORY), *extra])
    return dry_run.replay_clock(args, DryRunState(args.rundir))


def closes(datadir: Path, clock: ReplayClock, now: int, start: int, end: int) -> dict:
    """Close of every 5m candle opening in [start, end] as the exchange on `clock` serves it."""
    source = build_exchange(datadir, True, clock.history, clock.interval,
                            clock.started_ms).source
    rows = source.klines("BTCUSDT", FIVE_MIN, start, end, 1000, now)
    return dict(zip(rows.time.tolist(), rows.close.tolist(), strict=True))


def test_a_second_run_serves_the_candles_the_first_one_traded_and_learned(
        tmp_path, datadir, monkeypatch, capsys):
    """Run 1 starts at T0 and trades for an hour; run 2 starts two hours later. Every candle
    run 1 saw (its history and its hour) has the same price in run 2, and run 2's new candles
    come after them in the recording (none of run 1's is served again as new); the trades
    database and the store stay. Before, run 2 mapped candle `history - 1` onto its own start."""
    first = start(tmp_path, datadir, T0, monkeypatch)
    assert "New dry-run clock" in capsys.readouterr().out
    state = DryRunState(tmp_path / "run")
    state.db.write_text("trades")
    (state.models / "self-learning").mkdir(parents=True)
    (state.live_stores / "self-learning").mkdir(parents=True)

    second = start(tmp_path, datadir, T0 + 3 * HOUR_MS, monkeypatch)
    line = capsys.readouterr().out
    assert line.startswith("Dry-run continues on the clock of 2026-12-06 01:02 UTC"), line
    assert second == first
    seen = closes(datadir, first, T0 + HOUR_MS, T0 - 250 * FIVE_MIN, T0 + HOUR_MS - FIVE_MIN)
    again = closes(datadir, second, T0 + 3 * HOUR_MS, T0 - 250 * FIVE_MIN,
                   T0 + HOUR_MS - FIVE_MIN)
    assert len(seen) > 250 and again == seen
    new = closes(datadir, second, T0 + 3 * HOUR_MS, T0 + 2 * HOUR_MS, T0 + 3 * HOUR_MS)
    assert not set(np.round(list(new.values()), 9)) & set(np.round(list(seen.values()), 9))
    assert state.db.read_text() == "trades" and (state.models / "self-learning").is_dir()
    assert (state.live_stores / "self-learning").is_dir()
    assert state.overlay() == {"user_data_dir": str(state.folder),
                               "db_url": f"sqlite:///{state.folder / 'tradesv3.dryrun.sqlite'}"}


@pytest.mark.parametrize("length,first", [(FIVE_MIN, datetime(2026, 12, 5, 0, 5)),
                                          (HOUR_MS, datetime(2026, 11, 23, 14, 0))])
def test_the_first_candle_a_clock_serves(datadir, length, first):
    """ReplayClock.first_candle_ms, what dry-run-backtest downloads from: at T0 (01:02:03)
    with 300 candles of history the current candle opens at 01:00 and the first one 299
    candles earlier; the exchange on that clock serves exactly that candle first."""
    clock = ReplayClock(T0, HISTORY, "1m", "abc")
    first_ms = int(first.replace(tzinfo=UTC).timestamp() * 1000)
    assert clock.first_candle_ms(length) == first_ms
    source = build_exchange(datadir, True, HISTORY, "1m", T0).source
    rows = source.klines("BTCUSDT", length, first_ms - 10 * length, None, 3, T0)
    assert rows.time.tolist() == [first_ms, first_ms + length, first_ms + 2 * length]


def test_the_bot_keeps_its_trades_and_models_in_the_dry_runs_folder(tmp_path):
    """Not freqtrade's default ./tradesv3.dryrun.sqlite nor user_data/models/: the overlay that
    goes to the bot before the user's -c files points both into the dry-run's folder."""
    state = DryRunState(tmp_path / "run")
    data, overlays = dry_run.prepare_rundir(state, 8701, 8080)
    settings = {}
    for overlay in overlays:
        settings.update(json.loads(overlay.read_text()))
    assert settings["user_data_dir"] == str(tmp_path / "run")
    assert settings["db_url"] == f"sqlite:///{tmp_path / 'run' / 'tradesv3.dryrun.sqlite'}"
    assert data == tmp_path / "run" / "data"
    # the model's live store of this user_data_dir is one the dry-run sets aside with its clock
    live = live_store(Path(settings["user_data_dir"]), "self-learning")
    assert live.root.parent == state.live_stores and live.legacy.is_relative_to(state.models)


def test_fresh_or_other_candles_start_a_new_clock_and_set_aside_only_what_the_bot_wrote(
        tmp_path, datadir, monkeypatch, capsys):
    """--fresh, or a recording that changed, starts a new clock from now: the old clock's trades
    database and store are moved into previous/clock-<its start>/ (named in the line), nothing
    is deleted, anything else in the folder stays where it is."""
    start(tmp_path, datadir, T0, monkeypatch)
    state = DryRunState(tmp_path / "run")
    mine = state.folder / "notes.txt"
    mine.write_text("the user's")
    for path in (state.db, state.db.with_name("tradesv3.dryrun.sqlite-wal")):
        path.write_text("trades")
    (state.models / "self-learning").mkdir(parents=True)
    (state.live_stores / "self-learning" / "BTC_USDT").mkdir(parents=True)
    capsys.readouterr()

    fresh = start(tmp_path, datadir, T0 + HOUR_MS, monkeypatch, "--fresh")
    line = capsys.readouterr().out
    first = next((state.folder / PREVIOUS_DIR).iterdir())
    assert fresh.started_ms == T0 + HOUR_MS
    assert "(--fresh)" in line and str(first) in line, line
    assert not state.db.exists() and not state.models.exists() and mine.exists()
    assert not state.live_stores.exists(), "the old clock's live store would be resumed"
    assert first.name == "clock-20261206T0102Z"
    assert (first / "tradesv3.dryrun.sqlite").read_text() == "trades"
    assert (first / "tradesv3.dryrun.sqlite-wal").read_text() == "trades"
    assert (first / "models" / "self-learning").is_dir()
    assert (first / "self_learning" / "self-learning" / "BTC_USDT").is_dir()

    (datadir / "BTC_USDT-5m.feather").write_bytes(b"other candles")
    state.db.write_text("second trades")
    other = start(tmp_path, datadir, T0 + 2 * HOUR_MS, monkeypatch)
    assert other.started_ms == T0 + 2 * HOUR_MS and not state.db.exists()
    aside = sorted((state.folder / PREVIOUS_DIR).iterdir())
    assert len(aside) == 2 and first in aside
    second = next(path for path in aside if path != first)
    assert (second / "tradesv3.dryrun.sqlite").read_text() == "second trades"
    assert (first / "tradesv3.dryrun.sqlite").read_text() == "trades"
    assert json.loads((state.folder / CLOCK_FILE).read_text())["clock"]["started_ms"] == \
        T0 + 2 * HOUR_MS


def test_without_a_clock_file_nothing_is_removed(tmp_path):
    """A folder whose clock.json is gone: a new clock, and nothing there is deleted (the
    project cannot tell that it wrote it)."""
    state = DryRunState(tmp_path / "run")
    state.folder.mkdir()
    state.db.write_text("trades")
    choice, line = state.start(ReplayClock(T0, HISTORY, "1m", "abc"))
    assert not choice.continued and state.db.exists() and "moved" not in line
    assert not (state.folder / PREVIOUS_DIR).exists()


def clock_text(started_ms: object = T0, history: object = HISTORY, interval: object = "1m") -> str:
    return json.dumps({"clock": {"started_ms": started_ms, "history": history,
                                 "interval": interval, "fingerprint": "abc"}})


WRONG_VALUES = [  # values of the right type that no replay runs on, and the reason said
    ({"history": 0}, "clock.history: 0, must be at least 1"),
    ({"history": -4000}, "clock.history: -4000, must be at least 1"),
    ({"started_ms": -1}, "clock.started_ms: -1, must be at least 0"),
    ({"interval": "7m"}, "clock.interval: '7m', must be one of 1s, 1m, 3m, 5m, "),
    ({"started_ms": -1, "history": 0},
     "clock.started_ms: -1, must be at least 0; clock.history: 0, must be at least 1"),
]


@pytest.mark.parametrize("values", [{"started_ms": 0}, {"history": 1}, {"interval": "1s"},
                                    {"interval": "1w"}])
def test_the_smallest_values_a_replay_runs_on_are_a_clock(values):
    """The value checks refuse only what the replay exchange cannot run on: a start at the
    epoch, a history of the current candle alone, any interval it serves make a clock."""
    assert parse_clock(clock_text(**values)) == ReplayClock(
        **{"started_ms": T0, "history": HISTORY, "interval": "1m", "fingerprint": "abc",
           **values})


@pytest.mark.parametrize("text,problem", [
    ('{"clock": {"started_ms": 17', "is unreadable, not JSON: Expecting ',' delimiter at line 1"),
    ('{"clock": {"started_ms": 1, "history": 2}}',
     "is unreadable, missing keys clock.interval, clock.fingerprint"),
    ('{"started": "2026-12-06 01:02 UTC"}', 'is unreadable, missing key "clock"'),
    ('{"clock": {"started_ms": "1", "history": 2, "interval": "1m", "fingerprint": "abc"}}',
     "is unreadable, wrong type of clock.started_ms"),
    ('{"clock": {"started_ms": 1, "history": true, "interval": "1m", "fingerprint": "abc"}}',
     "is unreadable, wrong type of clock.history"),
    *[(clock_text(**values), f"is unreadable, wrong value of {problem}")
      for values, problem in WRONG_VALUES],
])
def test_a_damaged_clock_file_is_named_as_the_reason_and_kept(tmp_path, text, problem):
    """A clock.json that holds no clock (broken JSON, missing keys, values the replay cannot
    run on) starts a new clock saying so, not 'no earlier dry-run'; the old trades go to
    previous/clock-unknown/ as before, and the damaged file with them, as it was (nothing is
    deleted)."""
    state = DryRunState(tmp_path / "run")
    state.folder.mkdir()
    state.db.write_text("trades")
    state.clock_path.write_text(text)
    choice, line = state.start(ReplayClock(T0, HISTORY, "1m", "abc"))
    assert not choice.continued and choice.reason.startswith(f"{state.clock_path} {problem}")
    assert f"({state.clock_path} {problem}" in line and "no earlier" not in line, line
    aside = state.folder / PREVIOUS_DIR / "clock-unknown"
    assert str(aside) in line
    assert (aside / "tradesv3.dryrun.sqlite").read_text() == "trades"
    assert (aside / CLOCK_FILE).read_text() == text
    assert state.saved_clock() == choice.clock


@pytest.mark.parametrize("saved,fresh,continued,reason", [
    (None, False, False, "no earlier dry-run"),
    (UnreadableClock("run/clock.json is unreadable, not JSON"), False, False,
     "run/clock.json is unreadable, not JSON"),
    (ReplayClock(T0, HISTORY, "1m", "abc"), False, True, ""),
    (ReplayClock(T0, HISTORY, "1m", "abc"), True, False, "--fresh"),
    (ReplayClock(T0, HISTORY, "1m", "other"), False, False, "changed"),
    (ReplayClock(T0, HISTORY + 1, "1m", "abc"), False, False, "changed"),
    (ReplayClock(T0, HISTORY, "5m", "abc"), False, False, "changed"),
    (ReplayClock(T0 + 2 * HOUR_MS, HISTORY, "1m", "abc"), False, False, "in the future"),
])
def test_which_clock(saved, fresh, continued, reason):
    wanted = ReplayClock(T0 + HOUR_MS, HISTORY, "1m", "abc")
    choice = choose_clock(saved, wanted, fresh)
    assert choice.continued == continued and reason in choice.reason
    assert choice.clock == (saved if continued else wanted)


def test_the_dates_the_dry_run_and_the_exchange_print(tmp_path):
    """One start, spelled for each reader (self_learning_offline.utc_text): the dry-run's line
    and clock.json to the minute, the replay exchange's start line in ISO 8601 with seconds."""
    state = DryRunState(tmp_path / "run")
    _, line = state.start(ReplayClock(T0, HISTORY, "1m", "abc"))
    assert line.startswith("New dry-run clock from 2026-12-06 01:02 UTC (no earlier dry-run)")
    assert json.loads(state.clock_path.read_text())["started"] == "2026-12-06 01:02 UTC"
    assert RealtimeSource({}, T0, HISTORY).started_utc == "2026-12-06T01:02:03Z"
