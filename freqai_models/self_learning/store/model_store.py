"""ModelStore: the root folder of one freqtrade model identifier, one PairStore per pair."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import tensorflow as tf

from self_learning.store import writer_lock
from self_learning.store.pair_store import PairStore
from self_learning.store.snapshot import snapshot_variables
from self_learning.store.templates import GraphTemplate, GraphTemplates


class ModelStore:
    """`root` is `user_data/self_learning/<identifier>` (live) or a run's own store in
    `user_data/models/<identifier>/self_learning_runs/` (runtime/run_stores.py); created on
    the first save.

    `keep_versions` intact versions of the model being saved are kept per pair (the newest
    ones); older ones are removed by each save. Versions of another model (another variable
    layout, or other `identity` fields of the caller's metadata such as the feature list),
    damaged or unreadable versions and anything the store did not write are left alone. One
    process writes a store: `hold_lock()` at start (or the first save) takes it. Pairs
    share graph templates: a graph key's SavedModel graph is traced and written in full once
    per process, every other save of any pair with that key writes only its variables.
    """

    def __init__(self, root: Path, keep_versions: int = 3,
                 templates: GraphTemplates | None = None, identity: tuple[str, ...] = ()):
        if isinstance(keep_versions, bool) or not isinstance(keep_versions, int) \
                or keep_versions < 1:
            raise ValueError(f"keep_versions must be an int >= 1, got {keep_versions!r}")
        self.root = Path(root)
        self.keep_versions = keep_versions
        self.identity = tuple(identity)
        self._pairs: dict[str, PairStore] = {}
        # Graphs by (network, graph key), for every pair (pass PROCESS_TEMPLATES to share them
        # with every store of the process).
        self.templates = templates if templates is not None else GraphTemplates()
        self._guard = threading.Lock()

    def pair(self, pair: str) -> PairStore:
        """The store of one pair; ValueError for names that could escape the root."""
        with self._guard:
            if pair not in self._pairs:
                self._pairs[pair] = PairStore(self.root, pair, self.keep_versions,
                                               self.templates, self.identity)
            return self._pairs[pair]

    def hold_lock(self) -> None:
        """Make this process the store's only writer; StoreInUse (naming the folder and the
        holder's PID) when another process is."""
        writer_lock.hold(self.root)

    def prepare_templates(self, graph_keys: Mapping[str, str],
                          build_modules: Callable[[], Mapping[str, tf.Module]]) -> list[str]:
        """Make the graph templates of `graph_keys` before the first save needs them (idle
        work of a writer thread): one full SavedModel of `build_modules()` per network still
        without a template, in a scratch folder; the snapshot and checkpoint-writing programs
        run once on the way. Returns the networks it made a template for."""
        made: list[str] = []
        modules: list[Mapping[str, tf.Module]] = []
        for name, key in graph_keys.items():
            with self.templates.making(name, key):
                if self.templates.get(name, key) is not None:
                    continue
                if not modules:
                    modules.append(build_modules())
                    values = snapshot_variables(modules[0])  # traces the snapshot programs
                with tempfile.TemporaryDirectory(prefix="self_learning-template-") as scratch:
                    tf.saved_model.save(modules[0][name], scratch)
                    template = GraphTemplate.from_saved_model(Path(scratch))
                    template.write(Path(scratch) / "warm", values[name])  # and the writer
                self.templates.put(name, key, template)
                made.append(name)
        return made

