"""TensorBoard event files of the model's own scalars, written off the trading loop.

With `freqai.activate_tensorboard` (FreqAI's switch), every stepped candle of a pair adds one
event to `<identifier>/tensorboard/[<run>/]<PAIR>/events.out.tfevents.*`: the online loss
of each network, the prequential scoreboard (rolling IC, hit-rate, band coverage), novelty,
the drift alarm, candles since the last learned update, the matured predictions on the
scoreboard and the training counter; each save adds its duration, each FreqAI training its
duration and sample count. The step of an event is the pair's training counter (samples
learned online plus one per FreqAI training; checkpointed with the weights, so a restart
continues the same curves, and a restart after a crash replays the steps after the last save,
whose orphaned events TensorBoard's reader drops), and its wall time is the candle's time:
TensorBoard's STEP axis reads learned samples, its WALL axis candle dates. Candles stepped
without learning anything (the first `label_period_candles`, skipped samples) share the step
of the last sample learned. FreqAI trainings and saves write under their own tags (`fit/...`,
`save/...`), as they run on other threads than the per-candle step.

Hooks only put references on a bounded queue (never blocking: when it is full the event is
dropped and counted); one daemon thread, every BATCH_S seconds, builds the protocol buffers of
what is queued and writes them with TensorBoard's own EventFileWriter.
`tensorboard --logdir <identifier>/tensorboard` shows them. Without the tensorboard package
this is a no-op with one warning.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from self_learning.candles.predictions import Predictions
from self_learning.telemetry.observer import FitDone, RuntimeObserver, SaveDone

logger = logging.getLogger(__name__)

FOLDER = "tensorboard"
QUEUE_SIZE = 20_000  # items (one per hook call), a few hours of 100 pairs at 5m
FLUSH_S = 10.0    # TensorBoard's writer flushes its file at least this often
BATCH_S = 2.0     # our thread writes what is queued, then sleeps this long
CLOSE_TIMEOUT_S = 10.0
# tag -> Predictions.scores name, for every stepped row
SCORE_TAGS = {
    "loss/autoencoder": "loss_autoencoder",
    "loss/feature_discovery": "loss_discovery",
    "loss/liquidity": "loss_liquidity",
    "scoreboard/ic": "ic",
    "scoreboard/hit_rate": "hit_rate",
    "scoreboard/band_up": "band_up",
    "scoreboard/band_down": "band_down",
    "drift/alarm": "drift",
    "drift/challenge": "challenge",
    "model/since_learned": "since_learned",
    "scoreboard/matured": "board_n",
}
_STOP = object()

Scalars = list[tuple[str, float]]


def logdir_for(identifier_dir: Path, run_store: str | None) -> Path:
    """`<identifier>/tensorboard` for the live store (`run_store` None), and
    `<identifier>/tensorboard/<run>` for a run's own store (`self_learning_runs/<run>`), so runs
    never mix their curves. The live store's logs stay in FreqAI's model folder, beside
    FreqAI's own, although the store itself lives outside it: they are logs, not what the model
    learned, and freqtrade's analysers deleting them loses no learning."""
    identifier_dir = Path(identifier_dir)
    if run_store is None:
        return identifier_dir / FOLDER
    return identifier_dir / FOLDER / run_store


def step_scalars(p: Predictions) -> Iterator[tuple[int, float, Scalars]]:
    """(step = training counter, wall time = candle time, finite scalars) for every row of a
    stepped block. Pure."""
    columns = {tag: np.asarray(p.score(name), np.float64) for tag, name in SCORE_TAGS.items()}
    novelty = np.where(np.asarray(p.ok, bool), np.asarray(p.novelty, np.float64), np.nan)
    counter = np.asarray(p.training_counter, np.float64)
    for i, ts in enumerate(np.asarray(p.ts, np.int64)):
        values = [(tag, float(col[i])) for tag, col in columns.items()]
        values += [("model/novelty", float(novelty[i])),
                   ("model/training_counter", float(counter[i]))]
        yield (int(counter[i]), float(ts), [(tag, v) for tag, v in values if math.isfinite(v)])


class TensorBoardWriter(RuntimeObserver):
    def __init__(self, logdir: Path, queue_size: int = QUEUE_SIZE, flush_s: float = FLUSH_S,
                 batch_s: float = BATCH_S):
        self.logdir = Path(logdir)
        self.flush_s = float(flush_s)
        self.batch_s = float(batch_s)
        self._wake = threading.Event()  # set by close(): stop sleeping between bursts
        self.dropped = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._writers: dict[str, object] = {}
        self._alarms: dict[str, int] = {}
        self._last_wall: dict[str, float] = {}
        self._broken = False
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError as err:
            logger.warning(f"freqai.activate_tensorboard is on but TensorBoard cannot be "
                           f"imported ({err}); no TensorBoard files are written. Install it "
                           "with `pip install tensorboard`.")
            self._thread = None
            return
        self._event, self._summary, self._file_writer = event_pb2, summary_pb2, EventFileWriter
        self._thread = threading.Thread(target=self._work, name="self-learning-tensorboard",
                                        daemon=True)
        self._thread.start()
        logger.info(f"TensorBoard: per-pair scalars go to {self.logdir} "
                    f"(view them with `tensorboard --logdir {self.logdir}`)")

    # -- hooks (any thread; never block) ----------------------------------------------------

    def stepped(self, pair: str, predictions: Predictions) -> None:
        if len(predictions.ts):
            self._put(("step", pair, predictions))

    def fitted(self, fit: FitDone) -> None:
        self._put(("fit", fit.pair, fit))

    def saved(self, save: SaveDone) -> None:
        self._put(("save", save.pair, save))

    def _put(self, item) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(f"TensorBoard writer is behind ({self._queue.maxsize} items "
                               "queued); dropping events rather than slowing trading.")

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is queued and close the files (bounded by `timeout`)."""
        if self._thread is None or not self._thread.is_alive():
            return
        self._wake.set()
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            logger.warning("TensorBoard writer did not drain in time; closing anyway.")
            return
        self._thread.join(timeout)

    # -- the writer thread ------------------------------------------------------------------

    def _work(self) -> None:
        """Write in bursts: everything queued, then sleep `batch_s`, so the protocol buffers
        (pure Python, they hold the GIL) are built between candles, not during one."""
        stop = False
        while not stop:
            items = [self._queue.get()]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in items:
                if item is _STOP:
                    stop = True
                    continue
                try:
                    self._write(*item)
                except Exception as err:
                    if not self._broken:
                        self._broken = True
                        logger.exception(f"TensorBoard: writing to {self.logdir} failed "
                                         f"({err}); trading goes on, this is logged once.")
            if not stop:
                self._wake.wait(self.batch_s)
        for writer in self._writers.values():
            writer.close()

    def _write(self, kind: str, pair: str, item) -> None:
        if kind == "step":
            for step, wall, scalars in step_scalars(item):
                if ("drift/alarm", 1.0) in scalars:
                    self._alarms[pair] = self._alarms.get(pair, 0) + 1
                scalars.append(("drift/alarms", float(self._alarms.get(pair, 0))))
                self._emit(pair, step, wall, scalars)
                self._last_wall[pair] = wall
        elif kind == "fit":
            self._emit(pair, item.training_counter, float(item.newest_ts),
                       [("fit/seconds", item.seconds), ("fit/samples", float(item.samples)),
                        ("fit/training_counter", float(item.training_counter))])
        else:
            wall = (float(item.newest_ts) if item.newest_ts >= 0
                    else self._last_wall.get(pair, 0.0))
            self._emit(pair, item.training_counter, wall, [("save/seconds", item.seconds)])

    def _emit(self, pair: str, step: int, wall: float, scalars: Scalars) -> None:
        writer = self._writers.get(pair)
        if writer is None:
            # Imported here: the store package imports TensorFlow, and the adapter imports
            # this module even where TensorFlow is missing (tests/test_tf_missing.py).
            from self_learning.store.layout import safe_pair_dirname

            folder = self.logdir / safe_pair_dirname(pair)
            writer = self._file_writer(str(folder), max_queue_size=1000,
                                       flush_secs=self.flush_s)
            self._writers[pair] = writer
        values = [self._summary.Summary.Value(tag=tag, simple_value=v) for tag, v in scalars]
        writer.add_event(self._event.Event(wall_time=wall, step=step,
                                           summary=self._summary.Summary(value=values)))
