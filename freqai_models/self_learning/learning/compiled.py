"""CompiledPrograms: the traced forms of Programs, shared between pairs, and how they are fed.

Each function is traced once per process and network shape and then called with every other
pair's own variables (shared_program.py): the per-candle loop under XLA (`run`), the serving
forward pass (`predict`), one training epoch and the validation losses (graph mode: their row
counts vary from call to call). All are traced without AutoGraph: their control flow is
written with tf.cond / tf.while_loop already (a Python `if` on a tensor fails the trace), and
converting their source cost seconds per process, ~3.5 s of CPU for the step alone (results
bit-identical).
An epoch program is compiled per capacity of rows (a power of two); a training with fewer rows
runs on a larger program of its shape already compiled, padded with zero-weight rows (the loop
reads only its real rows: bit-identical), instead of compiling another (~3 s).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import tensorflow as tf

from self_learning.candles.predictions import OUTPUTS
from self_learning.candles.samples import Samples
from self_learning.candles.timeline import NEVER
from self_learning.learning import shared_program
from self_learning.learning.program import (
    BLOCK_CAPACITY,
    INPUT_OK,
    RESET,
    STAMPS,
    TARGET_OK,
    TARGET_TS,
    TS,
    Programs,
    empty_outputs,
)
from self_learning.returns.moments import Moments

_COUNTS: dict[int, tf.Tensor] = {}  # candle counts as ready tensors (made once each)
MIN_CAPACITY = 256
# (shape key, batch size) -> the (rows, validation rows) capacities of the epoch programs
# compiled in this process (shared_program keeps the programs themselves).
_EPOCH_CAPACITIES: dict[tuple, set[tuple[int, int]]] = {}


def _padded(a, rows: int, dtype) -> tf.Tensor:
    a = np.asarray(a, dtype)
    return tf.constant(np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), dtype)]))


def _capacity(rows: int) -> int:
    """Rows a training program is compiled for: the next power of two (few programs)."""
    return max(MIN_CAPACITY, 1 << max(rows - 1, 0).bit_length())


def _pad_rows(tensors: tuple, rows: int) -> tuple:
    """Tensors of a TrainingRows padded with zero rows up to `rows`."""
    return tuple(tf.pad(t, [[0, rows - int(t.shape[0])]] + [[0, 0]] * (t.shape.rank - 1))
                 for t in tensors)


def _epoch_capacities(compiled: set[tuple[int, int]], cap: int, vcap: int) -> tuple[int, int]:
    """The smallest compiled (rows, validation) capacities holding `cap` and `vcap` rows, else
    (cap, vcap): a new program."""
    fits = [c for c in compiled if c[0] >= cap and c[1] >= vcap]
    return min(fits, key=lambda c: (c[0] + c[1], c)) if fits else (cap, vcap)


def _count_tensor(count: int) -> tf.Tensor:
    if count not in _COUNTS:
        _COUNTS[count] = tf.constant(count, tf.int32)
    return _COUNTS[count]


@dataclass(frozen=True)
class TrainingRows:
    """A training's rows (windows, features, targets, weights), padded once to the capacity
    its epoch program is compiled for, so every epoch reuses the same input tensors."""

    tensors: tuple

    @staticmethod
    def of(windows, features, targets, weights) -> TrainingRows:
        cap = _capacity(len(windows))
        return TrainingRows(tuple(_padded(a, cap, np.float32)
                                  for a in (windows, features, targets, weights)))

    @property
    def capacity(self) -> int:
        return int(self.tensors[0].shape[0])


@dataclass(frozen=True)
class StepBatch:
    """What the compiled loop steps through, one row per candle (see Programs.step_block)."""

    windows: np.ndarray
    features: np.ndarray
    input_ok: np.ndarray
    ts: np.ndarray
    targets: np.ndarray      # of the candle H steps earlier, matured now
    target_ok: np.ndarray
    target_ts: np.ndarray    # timestamp of that earlier candle (checked against the ring)
    reset: np.ndarray        # a gap before this candle: pending samples are dropped

    def rows(self, sl: slice) -> StepBatch:
        return StepBatch(*(getattr(self, f.name)[sl] for f in fields(self)))


class CompiledPrograms:
    def __init__(self, programs: Programs, variables: list, key: tuple):
        self.traceable = programs  # the Programs whose functions are traced here
        self._variables, self._key = variables, key
        d, f = programs.d, programs.f
        spec = tf.TensorSpec
        self._dims = (d, f)
        # The step takes two packed, padded inputs (each conversion costs ~50 us): floats laid
        # out by the programs' StepRow ([window | features | targets]) and ints (STAMPS).
        # The buffers are reused (callers hold the learner's lock); rows past the real count
        # keep stale values that the loop never reads.
        self._floats = np.zeros((BLOCK_CAPACITY, programs.step_row.width), np.float32)
        self._ints = np.zeros((BLOCK_CAPACITY, len(STAMPS)), np.int64)
        rows = lambda *shape: spec([None, *shape], tf.float32)  # noqa: E731
        self._fns = {
            "step": tf.function(programs.step_block, jit_compile=True, autograph=False,
                                input_signature=[
                spec([], tf.int32), spec(self._floats.shape, tf.float32),
                spec(self._ints.shape, tf.int64), spec([f, f], tf.float32),
                spec([f], tf.float32), spec([], tf.float32), spec([], tf.int64)]),
            "predict": tf.function(programs.predict_rows, autograph=False,
                                   input_signature=[rows(d), rows(f)]),
            # One XLA program per capacity bucket of rows (_capacity) for the fits.
            "epoch": tf.function(programs.epoch, jit_compile=True, autograph=False),
            "weights": tf.function(programs.trainable_values, autograph=False,
                                   input_signature=[]),
            "losses": tf.function(programs.losses, autograph=False, input_signature=[
                rows(d), rows(f), rows(3), spec([None], tf.float32)]),
        }
        self._calls: dict[str, object] = {}
        self._step_ran = False

    def _call(self, name: str):
        call = self._calls.get(name)
        if call is None:
            call = shared_program.program_for(
                self._variables, self._fns[name].get_concrete_function, (name, *self._key))
            self._calls[name] = call
        return call

    @property
    def step_compiled(self) -> bool:
        """Whether the per-candle loop has run here (its first run compiles it, seconds, or
        loads it from the XLA cache, or borrows the program of an earlier pair of the same
        shape)."""
        return self._step_ran

    def trace_step(self) -> None:
        """Trace the per-candle loop now (or borrow an earlier pair's), before any training.

        XLA's persistent cache (runtime/xla_cache.py) keys a program by its function's name,
        which carries TensorFlow's process-wide count of functions traced before it: traced at
        its first use, after a training whose programs depend on the data (row capacities,
        whether a prediction was needed), the loop got another name in every backtest window
        or restart, so every process compiled it again (~10 s of CPU at 5m). Traced when the
        first learner is made, its name, and the cache entry, are the same in every process
        of one configuration. XLA compiles it at its first run, as before."""
        self._call("step")

    def compile_step(self) -> None:
        """Run the per-candle loop once on an empty block (no candle, no other pairs): XLA
        compiles it, or loads it from its cache, and nothing is stepped or learned
        (benchmarks/compile_cost.py times this)."""
        f = self.traceable.f
        _, status = self._call("step")(
            _count_tensor(0), tf.zeros(self._floats.shape), tf.zeros(self._ints.shape, tf.int64),
            tf.zeros([f, f]), tf.zeros([f]), tf.constant(0.0), tf.constant(0, tf.int64))
        status.numpy()  # waits for the run

    def predict(self, windows, features) -> np.ndarray:
        """(n, 4): the columns of candles.predictions.PREDICTED (s_close, liq_up, liq_down,
        novelty), in that order, with the state as it is."""
        out = self._call("predict")(tf.constant(windows, tf.float32),
                                    tf.constant(features, tf.float32))
        return out.numpy()

    def epoch(self, rows: TrainingRows, order, batch_size: int,
              val: TrainingRows | None = None) -> tuple[int, np.ndarray]:
        """One training pass over the rows in `order`, then the validation losses on `val`
        (zeros when None)."""
        n = len(order)
        d, f = self._dims
        if val is None:
            val = TrainingRows.of(np.zeros((0, d)), np.zeros((0, f)), np.zeros((0, 3)),
                                  np.zeros(0))
        compiled = _EPOCH_CAPACITIES.setdefault((self._key, self._dims, batch_size), set())
        cap, vcap = _epoch_capacities(compiled, rows.capacity, val.capacity)
        tensors = rows.tensors if cap == rows.capacity else _pad_rows(rows.tensors, cap)
        vtensors = val.tensors if vcap == val.capacity else _pad_rows(val.tensors, vcap)
        name = f"epoch-{cap}-{vcap}-{batch_size}"
        call = self._calls.get(name)
        if call is None:
            spec = tf.TensorSpec
            fn = self._fns["epoch"]
            trace = lambda: fn.get_concrete_function(  # noqa: E731
                spec([cap, d], tf.float32), spec([cap, f], tf.float32), spec([cap, 3], tf.float32),
                spec([cap], tf.float32), spec([cap], tf.int32), spec([], tf.int32),
                (spec([vcap, d], tf.float32), spec([vcap, f], tf.float32),
                 spec([vcap, 3], tf.float32), spec([vcap], tf.float32)), batch_size)
            call = shared_program.program_for(self._variables, trace, (name, *self._key))
            self._calls[name] = call
            compiled.add((cap, vcap))
        applied, losses = call(*tensors, _padded(order, cap, np.int32),
                               tf.constant(n, tf.int32), *vtensors)
        return int(applied), losses.numpy()

    def trainable_values(self) -> list[np.ndarray]:
        return [t.numpy() for t in self._call("weights")()]

    def losses(self, windows, features, targets, weights) -> np.ndarray:
        return self._call("losses")(
            tf.constant(windows, tf.float32), tf.constant(features, tf.float32),
            tf.constant(targets, tf.float32), tf.constant(weights, tf.float32)).numpy()

    def run(self, batch: StepBatch, others: Moments) -> dict[str, np.ndarray]:
        """Step through a StepBatch, BLOCK_CAPACITY candles per call, with `others`: the
        other pairs' wide statistics. Returns a dict of (n,) arrays per output."""
        at = self.traceable.step_row
        step = self._call("step")
        o = (tf.constant(others.a, tf.float32), tf.constant(others.b, tf.float32),
             tf.constant(others.n, tf.float32), tf.constant(others.as_of, tf.int64))
        n, parts = len(batch.ts), []
        for start in range(0, n, BLOCK_CAPACITY):
            count = min(BLOCK_CAPACITY, n - start)
            rows, head = slice(start, start + count), slice(0, count)
            self._floats[head, at.window] = batch.windows[rows]
            self._floats[head, at.features] = batch.features[rows]
            self._floats[head, at.targets] = batch.targets[rows]
            self._ints[head, TS] = batch.ts[rows]
            self._ints[head, TARGET_TS] = batch.target_ts[rows]
            self._ints[head, INPUT_OK] = batch.input_ok[rows]
            self._ints[head, TARGET_OK] = batch.target_ok[rows]
            self._ints[head, RESET] = batch.reset[rows]
            out, status = step(_count_tensor(count), tf.constant(self._floats),
                               tf.constant(self._ints), *o)
            parts.append((out.numpy()[:count], status.numpy()[:count]))
            self._step_ran = True
        if not parts:
            return empty_outputs()
        out, status = (np.concatenate(p) for p in zip(*parts, strict=True))
        result = {name: out[:, i] for i, name in enumerate(OUTPUTS)}
        result["training_counter"] = status[:, 0]
        result["learned"] = status[:, 1].astype(bool)
        return result


def step_batch(s: Samples, idx: np.ndarray, last_seen: int, h: int) -> StepBatch:
    """The rows `idx` of prepared samples as the compiled loop steps them."""
    # The stream is the sequence of observed candles: the sample that matures at a stepped
    # candle is the observed candle h steps earlier, and the pending ring restarts only
    # when the candle stepped before this block is not the observation before idx[0].
    observed = np.flatnonzero(s.observed)
    at = np.searchsorted(observed, idx)
    has_prev = at >= h
    prev_c = observed[np.where(has_prev, at - h, 0)]
    reset = np.zeros(len(idx), dtype=bool)
    reset[0] = last_seen != NEVER and (at[0] == 0 or s.ts[observed[at[0] - 1]] != last_seen)
    return StepBatch(
        s.windows[idx], s.features[idx], s.input_ok[idx], s.ts[idx].astype(np.int64),
        s.targets[prev_c], s.target_ok[prev_c] & has_prev,
        np.where(has_prev, s.ts[prev_c], NEVER).astype(np.int64), reset)

