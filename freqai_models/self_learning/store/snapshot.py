"""Variable snapshots: every variable a checkpoint of a module holds, as numpy, by object path.

`snapshot_variables` is the cheap part of a background save that must run on the caller's
thread (it copies values, so later training cannot tear them); `assign_snapshot` writes such a
snapshot into another set of identically built modules (the ones a background thread saves) or
back into the same ones (to undo a failed restore).

The variable list of a module is found once and cached (weakly, per module object), so build
every variable (Keras models, optimizer slots) before the first snapshot, as for the first save.
The read/assign programs are traced once per variable structure and shared by all modules of
that structure (see `_Programs`).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

Snapshot = dict[str, dict[str, np.ndarray]]

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def module_variables(module: tf.Module) -> dict[str, tf.Variable]:
    """`{object path: tf.Variable}` reached the way tf.train.Checkpoint walks the module.

    tf.Module.variables misses Keras 3 variables (they are not tf.Variables), so the object
    graph is walked breadth first over checkpoint children; the first path to a variable wins.
    Keras variables are returned as the tf.Variable they wrap.
    """
    return _entry(module).variables


def snapshot_variables(modules: Mapping[str, tf.Module], *, traced: bool = True,
                       cached: bool = True) -> Snapshot:
    """Copy every variable of every module to numpy (blocking).

    `traced=True` reads each module with one tf.function call (~0.5 ms; traced once per
    variable structure in the process, shared by every module of that structure);
    `traced=False` reads variable by variable (no tracing; for one-off snapshots such as the
    undo copy taken before a restore). `cached=False` walks the modules' object graphs again
    instead of using the variable lists found at their first snapshot (for modules that may
    have gained variables since; implies traced=False).
    """
    snapshot = {}
    for name, module in modules.items():
        if not cached:
            found = _walk(module)
            snapshot[name] = {path: np.array(v.read_value(), copy=True)
                              for path, v in found.items()}
            continue
        entry = _entry(module)
        values = entry.read() if traced else [v.read_value() for v in entry.variables.values()]
        snapshot[name] = {path: np.array(value, copy=True)
                          for path, value in zip(entry.variables, values, strict=True)}
    return snapshot


def assign_snapshot(modules: Mapping[str, tf.Module], snapshot: Snapshot) -> None:
    """Write a snapshot into modules built the same way; ValueError when they do not match
    (checked for every network before anything is assigned)."""
    if set(modules) != set(snapshot):
        raise ValueError(f"Snapshot has networks {sorted(snapshot)}, modules {sorted(modules)}")
    plan = []
    for name, module in modules.items():
        entry = _entry(module)
        values = snapshot[name]
        if set(entry.variables) != set(values):
            diff = sorted(set(entry.variables) ^ set(values))[:5]
            raise ValueError(f"Snapshot of {name!r} does not fit the module (differs at {diff})")
        for path, var in entry.variables.items():
            if tuple(var.shape) != np.shape(values[path]):
                raise ValueError(
                    f"Snapshot of {name!r} has shape {np.shape(values[path])} for {path}, "
                    f"module has {tuple(var.shape)}"
                )
        tensors = [tf.constant(values[path], dtype=var.dtype)
                   for path, var in entry.variables.items()]
        plan.append((entry, tensors))
    for entry, tensors in plan:
        entry.assign(tensors)


class _Entry:
    """A module's variables in checkpoint order, and the programs that read / assign them."""

    def __init__(self, variables: dict[str, tf.Variable]):
        self.variables = variables
        self._ordered = list(variables.values())
        self._programs = _programs_for(self._ordered)

    def read(self) -> list[tf.Tensor]:
        return self._programs.read(self._ordered)

    def assign(self, values: list[tf.Tensor]) -> None:
        self._programs.assign(self._ordered, values)


class _Programs:
    """`read` and `assign` for one variable structure (shapes and dtypes, in order).

    The variables are arguments, not captures, so every module of that structure (all pairs'
    encoders, the writer's copies, ...) shares one trace: tracing happens once per network
    shape in a process, not once per module. TensorFlow's retracing detector keys on a
    function's code object, so the per-structure functions wrap a `functools.partial` (which
    has none): each structure is watched on its own and traces exactly once, without the
    "triggered tf.function retracing" warning several structures in a row would raise.
    """

    def __init__(self):
        self.read = tf.function(functools.partial(_read_all), autograph=False)
        self.assign = tf.function(functools.partial(_assign_all), autograph=False)


def _read_all(variables):
    return [tf.identity(v.read_value()) for v in variables]


def _assign_all(variables, values):
    for var, value in zip(variables, values, strict=True):
        var.assign(value)


_PROGRAMS: dict[tuple, _Programs] = {}


def _programs_for(ordered: list[tf.Variable]) -> _Programs:
    key = tuple((tuple(v.shape.as_list()), v.dtype.name) for v in ordered)
    with _GUARD:
        programs = _PROGRAMS.get(key)
        if programs is None:
            programs = _PROGRAMS[key] = _Programs()
    return programs


def _entry(module: tf.Module) -> _Entry:
    with _GUARD:
        entry = _CACHE.get(module)
    if entry is None:
        entry = _Entry(_walk(module))
        with _GUARD:
            _CACHE[module] = entry
    return entry


def _walk(module: tf.Module) -> dict[str, tf.Variable]:
    view = tf.train.TrackableView(module)
    found: dict[str, tf.Variable] = {}
    seen = {id(module)}
    queue = [("", module)]
    while queue:
        prefix, obj = queue.pop(0)
        for name, child in view.children(obj).items():
            if id(child) in seen:
                continue
            seen.add(id(child))
            path = f"{prefix}{name}"
            if isinstance(child, keras.Variable):
                found[path] = child.value
            elif isinstance(child, tf.Variable):
                found[path] = child
            else:
                queue.append((path + "/", child))
    return found
