"""Graph templates: a network's SavedModel graph, written once per graph key, reused by every pair.

A full `tf.saved_model.save` traces and serialises every function of a module (~150-300 ms
per network, ~0.8-1.5 s per pair on 2 cores). Everything in it except `variables/` depends only
on the network's structure, which the caller's graph key names. So the store keeps, per
(network name, graph key), the graph files of one full save (`saved_model.pb`,
`fingerprint.pb`, assets), the checkpoint's object graph and its variable layout; any later
save of any pair with that key writes those bytes and the snapshot's values with one `SaveV2`
op (a few ms, no tracing). The result is an ordinary SavedModel: `tf.saved_model.load` matches
the checkpoint to the object graph by structure, which the layout check below guarantees.

A template comes from a full save in this process or from a previous version on disk (its
graph files verified against their sha256 first), so a restarted process writes no full save
for pairs it already has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from self_learning.store.atomic import list_dirs, list_files, sha256_file
from self_learning.store.layout import VARIABLES_DIR, VARIABLES_PREFIX

logger = logging.getLogger(__name__)

# Checkpoint keys: a variable's value at `<object path>/.ATTRIBUTES/VARIABLE_VALUE`.
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"

Layout = dict[str, tuple[tuple[int, ...], str]]  # checkpoint key -> (shape, dtype name)


def read_layout(prefix: str) -> Layout:
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    return {key: (tuple(int(d) for d in shapes[key]), dtypes[key].name) for key in shapes}


def layout_hash(layout: Layout) -> str:
    """sha256 of the sorted (key, shape, dtype) list (the metadata's `variables_layout`)."""
    rows = sorted((key, list(shape), dtype) for key, (shape, dtype) in layout.items())
    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


def variables_layout(folder: Path) -> str:
    """The layout hash of the checkpoint in a SavedModel folder."""
    return layout_hash(read_layout(str(folder / VARIABLES_PREFIX)))


def values_layout(values: Mapping[str, np.ndarray]) -> Layout:
    """The checkpoint layout that writing `values` (object path -> array) produces."""
    layout = {f"{path}{VALUE_SUFFIX}": (tuple(np.shape(v)), np.asarray(v).dtype.name)
              for path, v in values.items()}
    layout[OBJECT_GRAPH_KEY] = ((), "string")
    return layout


def graph_files(doc: Mapping[str, Any]) -> list[str]:
    """The files of a network's metadata that are not its variables."""
    return [rel for rel in doc["files"] if not rel.startswith(VARIABLES_DIR + "/")]


@dataclass(frozen=True)
class GraphTemplate:
    files: dict[str, bytes]       # graph files by relative path
    dirs: tuple[str, ...]         # every folder, so empty ones (assets/) are recreated
    object_graph: bytes           # the checkpoint's serialized object graph
    layout: Layout
    layout_hash: str

    @classmethod
    def from_saved_model(cls, folder: Path, expected: Mapping[str, Any] | None = None
                         ) -> GraphTemplate:
        """Read a SavedModel folder; with `expected` (a metadata `files` mapping) every graph
        file must match its recorded sha256, else ValueError."""
        rels = [rel for rel in list_files(folder) if not rel.startswith(VARIABLES_DIR + "/")]
        if expected is not None:
            rels = graph_files({"files": expected})
            for rel in rels:
                if not (folder / rel).is_file() or sha256_file(folder / rel) != \
                        expected[rel]["sha256"]:
                    raise ValueError(f"{folder / rel} is missing or changed")
        prefix = str(folder / VARIABLES_PREFIX)
        layout = read_layout(prefix)
        object_graph = tf.train.load_checkpoint(prefix).get_tensor(OBJECT_GRAPH_KEY)
        return cls(
            files={rel: (folder / rel).read_bytes() for rel in rels},
            dirs=tuple(sub.relative_to(folder).as_posix() for sub in list_dirs(folder)),
            object_graph=bytes(object_graph), layout=layout, layout_hash=layout_hash(layout),
        )

    def fits(self, values: Mapping[str, np.ndarray]) -> bool:
        return values_layout(values) == self.layout

    def write(self, dest: Path, values: Mapping[str, np.ndarray]) -> None:
        """The graph files plus a checkpoint of `values` into the new folder `dest`."""
        for sub in self.dirs:
            (dest / sub).mkdir(parents=True, exist_ok=True)
        for rel, data in self.files.items():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(data)
        (dest / VARIABLES_DIR).mkdir(parents=True, exist_ok=True)
        names = [f"{path}{VALUE_SUFFIX}" for path in values] + [OBJECT_GRAPH_KEY]
        tensors = [tf.constant(value) for value in values.values()]
        tensors.append(tf.constant(self.object_graph, dtype=tf.string))
        tf.raw_ops.SaveV2(prefix=str(dest / VARIABLES_PREFIX), tensor_names=names,
                          shape_and_slices=[""] * len(names), tensors=tensors)


class GraphTemplates:
    """Thread-safe cache of templates by (network name, graph key), shared by a store's pairs."""

    def __init__(self):
        self._templates: dict[tuple[str, str], GraphTemplate] = {}
        self._lock = threading.Lock()
        self._making: dict[tuple[str, str], threading.Lock] = {}

    def making(self, name: str, graph_key: str) -> threading.Lock:
        """Held while a full save makes the template of a key: other pairs' writers wait for
        it and reuse it instead of tracing the same graph concurrently."""
        with self._lock:
            return self._making.setdefault((name, graph_key), threading.Lock())

    def get(self, name: str, graph_key: str) -> GraphTemplate | None:
        with self._lock:
            return self._templates.get((name, graph_key))

    def put(self, name: str, graph_key: str, template: GraphTemplate) -> None:
        with self._lock:
            self._templates[(name, graph_key)] = template


# Shared by the runtimes of one process (freqtrade's analyses build a new model per backtest).
PROCESS_TEMPLATES = GraphTemplates()
