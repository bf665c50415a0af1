"""One compiled online-step program per network shape, shared by every pair's learner.

XLA compiles a traced function once per function: a learner per pair would mean one ~8 s
compile and ~50 MB of compiled program per pair. The traced loop reads the learner's
variables as captured inputs, so the first learner of a shape traces and compiles it, and
every later learner with the same variable shapes calls that same program with its own
variables fed in place of the first one's (`ConcreteFunction._call_flat` takes the captured
inputs of a call; TensorFlow is pinned to 2.21 in pyproject.toml). Results are the learner's
own, bit for bit (`tests/test_shared_program.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import tensorflow as tf

_PROGRAMS: dict[tuple, tuple] = {}
_LOCK = threading.Lock()


def program_for(variables: list, trace: Callable[[], tf.types.experimental.ConcreteFunction],
                extra_key: tuple = ()):
    """A callable `f(*tensor_inputs)` running the shared program on `variables`.

    `variables`: every variable the traced function may read or write, in an order that is
    the same for all learners of one shape; `trace()` traces (and on its first call XLA
    compiles) the function for this learner when no program of this shape exists yet."""
    key = (tuple((tuple(v.shape), str(v.dtype)) for v in variables), extra_key)
    with _LOCK:
        if key not in _PROGRAMS:
            concrete = trace()
            _PROGRAMS[key] = (concrete, _capture_slots(concrete, variables))
        concrete, slots = _PROGRAMS[key]
    handles = [variable_handle(v) for v in variables]
    captured = [handles[i] if i is not None else c
                for i, c in zip(slots, concrete.captured_inputs, strict=True)]
    return lambda *inputs: concrete._call_flat(list(inputs), captured)  # noqa: SLF001


def variable_handle(var):
    """The resource handle of a tf.Variable or of a Keras 3 variable wrapping one."""
    return getattr(var, "value", var).handle if not hasattr(var, "handle") else var.handle


def clear() -> None:
    """Forget every shared program (tests; the next learner of a shape traces anew)."""
    with _LOCK:
        _PROGRAMS.clear()


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
