"""One compiled online-step program per network shape, shared by every pair's learner.

XLA compiles a traced function once per function: a learner per pair would mean one ~8 s
compile and ~50 MB of compiled program per pair. The traced loop reads the learner's
variables as captured inputs, so the first learner of a shape traces and compiles it, and
every later learner with the same variable shapes calls that same program with its own
variables fed in place of the first one's (`ConcreteFunction._call_flat` takes the captured
inputs of a call; TensorFlow is pinned to 2.21 in pyproject.toml). Results are the learner's
own, bit for bit (`tests/test_shared_program.py`).

`compile_ahead` has XLA compile a traced program on a thread of its own, on zero-filled
stand-ins of the variables (same shapes, so the same compiled program), while the learner's
thread goes on (a first run: the step's compile, ~3.5 s of CPU at 1h, beside the first
training instead of after it). XLA compiles a program once per process; a call that comes
while it compiles waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import tensorflow as tf

logger = logging.getLogger(__name__)

_PROGRAMS: dict[tuple, tuple] = {}
_AHEAD: set[tuple] = set()  # keys of the programs compile_ahead has started compiling
_LOCK = threading.Lock()


def _key(variables: list, extra_key: tuple) -> tuple:
    return tuple((tuple(v.shape), tf.as_dtype(v.dtype).name) for v in variables), extra_key


def program_for(variables: list, trace: Callable[[], tf.types.experimental.ConcreteFunction],
                extra_key: tuple = ()):
    """A callable `f(*tensor_inputs)` running the shared program on `variables`.

    `variables`: every variable the traced function may read or write, in an order that is
    the same for all learners of one shape; `trace()` traces (and on its first call XLA
    compiles) the function for this learner when no program of this shape exists yet."""
    key = _key(variables, extra_key)
    with _LOCK:
        if key not in _PROGRAMS:
            concrete = trace()
            _PROGRAMS[key] = (concrete, _capture_slots(concrete, variables))
        concrete, slots = _PROGRAMS[key]
    handles = [variable_handle(v) for v in variables]
    captured = [handles[i] if i is not None else c
                for i, c in zip(slots, concrete.captured_inputs, strict=True)]
    return lambda *inputs: concrete._call_flat(list(inputs), captured)  # noqa: SLF001


def compile_ahead(variables: list, extra_key: tuple, inputs: list) -> threading.Thread | None:
    """Start XLA's compile of the traced program of `variables`' shape (program_for) on a
    thread of its own: one call with `inputs`, which must make the program change nothing
    (the step: zero candles), on zero-filled stand-ins of the variables, so no learner's
    state is read or written. The stand-ins are made here, not on the thread: each variable
    takes a number from the process-wide count that names traced functions (XLA's cache key),
    so the names stay the same in every run. The thread is not a daemon (an exit waits for
    its compile); None when this shape's compile was started before or it is not traced."""
    key = _key(variables, extra_key)
    with _LOCK:
        if key not in _PROGRAMS or key in _AHEAD:
            return None
        _AHEAD.add(key)
        concrete, slots = _PROGRAMS[key]
    stand_ins = [tf.Variable(tf.zeros(v.shape, tf.as_dtype(v.dtype)), trainable=False)
                 for v in variables]
    captured = [stand_ins[i].handle if i is not None else c
                for i, c in zip(slots, concrete.captured_inputs, strict=True)]
    thread = threading.Thread(target=_compile, args=(concrete, captured, inputs, stand_ins),
                              name="xla-compile-ahead")
    thread.start()
    return thread


def _compile(concrete, captured: list, inputs: list, stand_ins: list) -> None:
    try:
        concrete._call_flat(list(inputs), captured)  # noqa: SLF001
    except Exception as err:  # noqa: BLE001 - the learner's first call compiles it instead
        logger.debug(f"compiling ahead failed ({err}); the first call compiles the program")
    del stand_ins  # kept alive until the call is done


def variable_handle(var):
    """The resource handle of a tf.Variable or of a Keras 3 variable wrapping one."""
    return getattr(var, "value", var).handle if not hasattr(var, "handle") else var.handle


def clear() -> None:
    """Forget every shared program (tests; the next learner of a shape traces anew)."""
    with _LOCK:
        _PROGRAMS.clear()
        _AHEAD.clear()


def _capture_slots(concrete, variables: list) -> list[int | None]:
    """For each captured input, the index of its variable in `variables` (None for a captured
    constant, which is the same for every learner)."""
    index = {id(variable_handle(v)): i for i, v in enumerate(variables)}
    slots = []
    for captured in concrete.captured_inputs:
        slot = index.get(id(captured))
        if slot is None and captured.dtype == tf.resource:
            raise RuntimeError("the online step reads a variable that is not in the learner's "
                               "state_variables(); it cannot be shared between pairs")
        slots.append(slot)
    return slots
