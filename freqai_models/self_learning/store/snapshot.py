"""Variable snapshots: every variable a checkpoint of a module holds, as numpy, by object path.

`snapshot_variables` is the cheap part of a background save that must run on the caller's
thread (it copies values, so later training cannot tear them); `assign_snapshot` writes such a
snapshot into another set of identically built modules (the ones a background thread saves) or
back into the same ones (to undo a failed restore).

The variable list of a module is found once and cached (weakly, per module object), so build
every variable (Keras models, optimizer slots) before the first snapshot, as for the first save.
"""

from __future__ import annotations

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


def snapshot_variables(modules: Mapping[str, tf.Module], *, traced: bool = True) -> Snapshot:
    """Copy every variable of every module to numpy (blocking).

    `traced=True` reads each module with one tf.function call (~1 ms; traced on first use,
    worth it for modules snapshotted repeatedly); `traced=False` reads variable by variable
    (no tracing; for one-off snapshots such as the undo copy taken before a restore).
    """
    snapshot = {}
    for name, module in modules.items():
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
    """A module's variables plus two tf.functions: read all, assign all (one call each)."""

    def __init__(self, variables: dict[str, tf.Variable]):
        self.variables = variables
        ordered = list(variables.values())
        specs = [tf.TensorSpec(v.shape, v.dtype) for v in ordered]

        def read_all():
            return [tf.identity(v.read_value()) for v in ordered]

        def assign_all(values):
            for var, value in zip(ordered, values, strict=True):
                var.assign(value)

        self.read = tf.function(read_all)
        self.assign = tf.function(assign_all, input_signature=[specs])


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
