"""The offline dry-run's own state: the replay exchange's clock, and the trades and models on it.

The realtime replay maps the recording onto the present from the moment the exchange starts
(`RealtimeSource`: candle `history - 1` is the current one then). A second `make dry-run` with a
new start would serve other candles under the dates the first one traded and learned: every
past candle rewritten, open trades repriced at once, and the first run's candles replayed as
the 'new' ones, which the restored model has already learned. So the dry-run keeps its clock:

* `clock.json` in the dry-run's folder holds the first run's start (`ReplayClock`); a later run on
  the same recording (same candle files, history and ticker interval) continues that clock, as
  a real exchange would have run on while the bot was stopped, and keeps the trades database
  and the model store beside it, which stay true to it.
* Otherwise (the first run, another recording, `--fresh`, a start in the future, a clock.json
  that cannot be read) a new clock starts, and the trades database and model store of the old
  one, only those this dry-run wrote (listed in its clock.json), are moved aside into
  `previous/clock-<its start>/` (`clock-unknown/` with the unreadable clock.json): nothing is
  deleted.

The bot keeps all of it in the dry-run's folder (`overlay`: user_data_dir and db_url), apart
from a by-hand bot's `user_data/models/` and `user_data/self_learning/` and freqtrade's default
`tradesv3.dryrun.sqlite`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import get_type_hints

from self_learning_offline.replay_exchange.candles import INTERVALS_MS
from self_learning_offline.replay_exchange.realtime import first_open
from self_learning_offline.utc_text import utc_minute, utc_stamp

CLOCK_FILE = "clock.json"
DB_FILE = "tradesv3.dryrun.sqlite"
MODELS_DIR = "models"
LIVE_STORES_DIR = "self_learning"  # the model's live stores (run_stores.LIVE_STORES)
PREVIOUS_DIR = "previous"


@dataclass(frozen=True)
class ReplayClock:
    """Where the realtime replay maps the recording: candle `history - 1` opens with the ticker
    interval's slot of `started_ms` (epoch ms), on the recording with this `fingerprint`."""

    started_ms: int
    history: int
    interval: str
    fingerprint: str

    def first_candle_ms(self, length_ms: int) -> int:
        """Open time (epoch ms) of the first candle the exchange on this clock serves at an
        interval of `length_ms`: nothing opens before it."""
        return first_open(self.started_ms, self.history, length_ms)

    def same_replay(self, other: ReplayClock) -> bool:
        return (self.history, self.interval, self.fingerprint) == \
            (other.history, other.interval, other.fingerprint)


@dataclass(frozen=True)
class UnreadableClock:
    """A clock.json that holds no clock: `reason` names the file and what is wrong with it."""

    reason: str


CLOCK_KEYS = get_type_hints(ReplayClock)  # {"started_ms": int, ...}
# What the replay exchange can run on: a start at or after the epoch, at least the current
# candle in the past (RealtimeSource), a ticker interval it serves (INTERVALS_MS).
CLOCK_VALUES = {"started_ms": (lambda v: v >= 0, "must be at least 0"),
                "history": (lambda v: v >= 1, "must be at least 1"),
                "interval": (lambda v: v in INTERVALS_MS,
                             f"must be one of {', '.join(INTERVALS_MS)}")}


def parse_clock(text: str) -> ReplayClock:
    """The clock of a clock.json's text; ValueError saying what is wrong when there is none."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    clock = data.get("clock") if isinstance(data, dict) else None
    if not isinstance(clock, dict):
        raise ValueError('missing key "clock"')
    missing = [f"clock.{key}" for key in CLOCK_KEYS if key not in clock]
    if missing:
        raise ValueError(f"missing keys {', '.join(missing)}")
    wrong = [f"clock.{key}" for key, kind in CLOCK_KEYS.items()
             if not isinstance(clock[key], kind) or isinstance(clock[key], bool)]  # true: no int
    if wrong:
        raise ValueError(f"wrong type of {', '.join(wrong)}")
    bad = [f"clock.{key}: {clock[key]!r}, {rule}" for key, (holds, rule) in CLOCK_VALUES.items()
           if not holds(clock[key])]
    if bad:
        raise ValueError(f"wrong value of {'; '.join(bad)}")
    return ReplayClock(**{key: clock[key] for key in CLOCK_KEYS})


@dataclass(frozen=True)
class ClockChoice:
    clock: ReplayClock
    continued: bool
    reason: str  # why a new clock started ("" when continued)


def recording_fingerprint(datadir: Path) -> str:
    """sha256 over the names and bytes of the candle files the exchange replays."""
    digest = hashlib.sha256()
    for path in sorted(datadir.glob("*.feather")):
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def choose_clock(saved: ReplayClock | UnreadableClock | None, wanted: ReplayClock,
                 fresh: bool) -> ClockChoice:
    """Continue `saved` when it replays the same recording the same way and began before
    `wanted` (a new start now); otherwise `wanted`, with the reason."""
    if saved is None:
        return ClockChoice(wanted, False, "no earlier dry-run")
    if isinstance(saved, UnreadableClock):
        return ClockChoice(wanted, False, saved.reason)
    if fresh:
        return ClockChoice(wanted, False, "--fresh")
    if not saved.same_replay(wanted):
        return ClockChoice(wanted, False, "the candles, history or interval changed")
    if saved.started_ms > wanted.started_ms:
        return ClockChoice(wanted, False, "the earlier start lies in the future")
    return ClockChoice(saved, True, "")


class DryRunState:
    """The dry-run's folder: its clock, trades database, FreqAI's model folders and the live
    model stores (user_data_dir)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.clock_path = folder / CLOCK_FILE
        self.db = folder / DB_FILE
        self.models = folder / MODELS_DIR
        self.live_stores = folder / LIVE_STORES_DIR

    def overlay(self) -> dict:
        """freqtrade settings that keep the bot's trades and models in this folder."""
        return {"user_data_dir": str(self.folder), "db_url": f"sqlite:///{self.db}"}

    def saved_clock(self) -> ReplayClock | UnreadableClock | None:
        """The clock in this folder's clock.json; None when there is no clock.json."""
        if not self.clock_path.exists():
            return None
        try:
            return parse_clock(self.clock_path.read_text())
        except OSError as e:
            problem = e.strerror or type(e).__name__
        except ValueError as e:  # parse_clock's, or bytes that are not UTF-8
            problem = str(e) if not isinstance(e, UnicodeDecodeError) else "not UTF-8 text"
        return UnreadableClock(f"{self.clock_path} is unreadable, {problem}")

    def written(self) -> list[Path]:
        """What the bot of this folder's clock wrote: its trades database, FreqAI's model
        folders and the live model stores."""
        return [self.db, self.db.with_name(f"{DB_FILE}-wal"), self.db.with_name(f"{DB_FILE}-shm"),
                self.models, self.live_stores]

    def start(self, wanted: ReplayClock, fresh: bool = False) -> tuple[ClockChoice, str]:
        """The clock this run replays on, and the line that says so. A new clock sets aside what
        the previous clock's bot wrote, if this folder's clock.json says there was one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        saved = self.saved_clock()
        choice = choose_clock(saved, wanted, fresh)
        if choice.continued:
            return choice, (f"Dry-run continues on the clock of {utc_minute(saved.started_ms)} "
                            f"({self.clock_path}): the exchange's candles since then stay as "
                            f"they were; trades ({self.db.name}) and models ({self.models}, "
                            f"{self.live_stores}) are kept.")
        kept = self._set_aside(saved) if self.clock_path.exists() else None
        self._write(choice.clock)
        aside = (f"; the previous clock's trades and models were moved to {kept}"
                 if kept is not None else "")
        return choice, (f"New dry-run clock from {utc_minute(choice.clock.started_ms)} "
                        f"({choice.reason}): trades and models start empty in "
                        f"{self.folder}{aside}.")

    def _set_aside(self, saved: ReplayClock | UnreadableClock | None) -> Path | None:
        """Moves what the previous clock's bot wrote into `previous/clock-<its start>/` (nothing
        is deleted: a user may want those trades or that store), with an unreadable clock.json
        into `clock-unknown/` (the start it held may be mended by hand); None if there was
        nothing."""
        present = [path for path in self.written() if path.exists()]
        if not present:
            return None
        known = isinstance(saved, ReplayClock)
        stamp = utc_stamp(saved.started_ms) if known else "unknown"
        if not known:
            present.append(self.clock_path)
        target = base = self.folder / PREVIOUS_DIR / f"clock-{stamp}"
        copies = 1
        while target.exists():
            copies += 1
            target = base.with_name(f"{base.name}-{copies}")
        target.mkdir(parents=True)
        for path in present:
            os.replace(path, target / path.name)
        return target

    def _write(self, clock: ReplayClock) -> None:
        text = json.dumps({"clock": asdict(clock), "started": utc_minute(clock.started_ms),
                           "kept_with_it": [p.name for p in self.written()]}, indent=2)
        tmp = self.clock_path.with_suffix(".tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, self.clock_path)
