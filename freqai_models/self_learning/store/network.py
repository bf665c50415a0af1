"""One network on disk: a SavedModel folder, written in full or by reusing the previous graph.

A full `tf.saved_model.save` traces and serialises every function (~200-400 ms per network).
When the caller says the graph is unchanged (same graph key as the previous version), the
previous version's graph files are copied and only `variables/variables` is rewritten with
`tf.train.Checkpoint(root=module).write`. The first such write of a module object runs
eagerly (~15-30 ms); from the second on it runs inside a tf.function cached per module
(traced once, ~200 ms, then ~4 ms), so a restarted process's first save stays cheap and
frequent autosaves get cheaper. The traced write produces two data shards instead of one,
which loaders handle transparently. The result is still an ordinary
SavedModel: `tf.saved_model.load` restores the new values into the copied object graph.
As a guard, the checkpoint's variable layout (names, shapes, dtypes) must equal the previous
one; otherwise the graph key lied (e.g. an optimizer built lazily after the first save) and
the network is written in full.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from self_learning.store.atomic import copy_file, list_dirs, list_files, sha256_file
from self_learning.store.layout import VARIABLES_DIR, VARIABLES_PREFIX
from self_learning.store.snapshot import module_variables

logger = logging.getLogger(__name__)

# Checkpoint keys: a variable's value at `<object path>/.ATTRIBUTES/VARIABLE_VALUE`.
_VALUE, _OBJECT_GRAPH = "/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH"
_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def variables_layout(folder: Path) -> str:
    """sha256 of the sorted (key, shape, dtype) list of the network's checkpoint."""
    reader = tf.train.load_checkpoint(str(folder / VARIABLES_PREFIX))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    rows = sorted((key, list(shape), dtypes[key].name) for key, shape in shapes.items())
    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


def save_network(module: tf.Module, dest: Path, graph_key: str,
                 previous: tuple[Path, Mapping[str, Any]] | None) -> tuple[bool, str]:
    """Write `module` into the new folder `dest`; returns (graph reused, variables layout)."""
    if previous is not None and _can_reuse(previous, graph_key):
        prev_dir, prev_doc = previous
        for sub in list_dirs(prev_dir):  # keep empty folders such as assets/
            (dest / sub.relative_to(prev_dir)).mkdir(parents=True, exist_ok=True)
        for rel in _graph_files(prev_doc):
            copy_file(prev_dir / rel, dest / rel)
        (dest / VARIABLES_DIR).mkdir(parents=True, exist_ok=True)
        _write_checkpoint(module, dest / VARIABLES_PREFIX)
        layout = variables_layout(dest)
        if layout == prev_doc["variables_layout"]:
            return True, layout
        logger.warning(
            "%s: graph key %r is unchanged but the variables differ from %s; writing the full "
            "SavedModel (build every variable, incl. optimizer slots, before the first save).",
            dest.name, graph_key, prev_dir,
        )
        shutil.rmtree(dest)
    with _WRITERS_GUARD:  # the module may have new variables: trace its writer again later
        _WRITERS.pop(module, None)
    tf.saved_model.save(module, str(dest))
    return False, variables_layout(dest)


def read_network(module: tf.Module, folder: Path) -> None:
    """Read a network's checkpoint into `module`; raises when they do not match exactly
    (an earlier layout that `read_split_variables` can upgrade counts as a match)."""
    prefix = str(folder / VARIABLES_PREFIX)
    status = tf.train.Checkpoint(root=module).read(prefix)
    try:
        status.assert_existing_objects_matched()
        status.assert_consumed()
    except AssertionError:
        status.expect_partial()  # the error says what did not match; no warnings at exit
        if not read_split_variables(module, prefix):
            raise
        logger.info("%s: read optimizer slots saved one per weight into flat slots", folder.name)


def _write_checkpoint(module: tf.Module, prefix: Path) -> None:
    """Eager on a module's first write, then through a cached tf.function (holds it weakly)."""
    with _WRITERS_GUARD:
        writer = _WRITERS.get(module)
        if writer is None:
            _WRITERS[module] = "eager-once"
        elif isinstance(writer, str):
            checkpoint = tf.train.Checkpoint(root=weakref.ref(module))
            writer = tf.function(checkpoint.write,
                                 input_signature=[tf.TensorSpec([], tf.string)])
            _WRITERS[module] = writer
    if callable(writer):
        writer(tf.constant(str(prefix)))
    else:
        tf.train.Checkpoint(root=module).write(str(prefix))


def _graph_files(doc: Mapping[str, Any]) -> list[str]:
    return [rel for rel in doc["files"] if not rel.startswith(VARIABLES_DIR + "/")]


def _can_reuse(previous: tuple[Path, Mapping[str, Any]], graph_key: str) -> bool:
    """Same graph key, and the previous graph files are present and intact."""
    prev_dir, doc = previous
    if doc.get("graph_key") != graph_key or not doc.get("variables_layout"):
        return False
    files = doc["files"]
    present = set(list_files(prev_dir))
    for rel in _graph_files(doc):
        if rel not in present or sha256_file(prev_dir / rel) != files[rel]["sha256"]:
            logger.warning("Not reusing the graph of %s: %s is missing or changed.", prev_dir, rel)
            return False
    return True


def read_split_variables(module: tf.Module, prefix: str) -> bool:
    """Upgrade a checkpoint in which a variable of `module` was saved as a list of pieces
    (`path/0`, `path/1`, ...: FusedAdam's slots before they became flat): each such variable
    gets its pieces flattened and concatenated in order. Returns False, assigning nothing,
    unless every variable is then accounted for and every saved value used exactly once (the
    other variables were already read by `tf.train.Checkpoint.read`)."""
    reader = tf.train.load_checkpoint(prefix)
    saved = set(reader.get_variable_to_shape_map()) - {_OBJECT_GRAPH}
    used, upgrades = set(), {}
    for path, variable in module_variables(module).items():
        key = f"{path}{_VALUE}"
        if key in saved:
            used.add(key)
            continue
        pieces = []
        while f"{path}/{len(pieces)}{_VALUE}" in saved:
            pieces.append(f"{path}/{len(pieces)}{_VALUE}")
        if not pieces:
            return False
        value = np.concatenate([reader.get_tensor(k).reshape(-1) for k in pieces])
        if value.shape != tuple(variable.shape) or value.dtype != variable.dtype.as_numpy_dtype:
            return False
        used.update(pieces)
        upgrades[path] = (variable, value)
    if not upgrades or used != saved:
        return False
    for variable, value in upgrades.values():
        variable.assign(value)
    return True

