"""PairStore: the versions of one pair's networks, saved atomically and restored verified.

Layout (`<pair>` = layout.safe_pair_dirname):

    <root>/<pair>/CURRENT                  {"version": 4, "folder": "v000004"}, replaced atomically
    <root>/<pair>/v000004/<name>/          a SavedModel per network (loads without our code)
    <root>/<pair>/v000004/<name>.json      its metadata incl. sha256 of every file of <name>/
    <root>/<pair>/.tmp-self_learning-...   a save in progress (or a crashed one, removed later)

A save writes a temp folder, fsyncs it, renames it to `vNNNNNN`, then replaces CURRENT: a
crash at any moment leaves every earlier version intact. Restore trusts only what it verifies
(schema, checksums, every file present), newest version first; CURRENT is for people and
tools, so a crash between publishing and updating CURRENT loses nothing.

`save(modules, ...)` writes modules as they are; `save_snapshot(values, ...)` writes a
snapshot taken earlier (the lifecycle's path: it needs no copy of the modules except for a
network's very first full SavedModel). Graphs come from templates shared by all pairs of the
store (templates.py), so only the first save of a graph key in a process traces anything.

Thread safety: `save` and `restore` hold a per-pair lock shared by every PairStore of the same
folder in this process, so two concurrent saves of one pair (e.g. the autosave thread and a
shutdown save) run one after the other. One process writes a store: a save takes the store's
lock (writer_lock.py), StoreInUse when another process holds it.

Retention (cleanup.py) removes only intact versions of the model being saved that newer ones
supersede; it makes room before writing, so a disk with room for `keep_versions` versions
keeps saving. Permission and disk-full errors are StoreErrors naming the path.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from self_learning.store import metadata as meta
from self_learning.store import writer_lock
from self_learning.store.atomic import (
    checksum_tree,
    publish_dir,
    replace_json_atomic,
    sync_tree,
    write_json,
)
from self_learning.store.checks import (
    carries_our_metadata,
    check_file,
    check_modules,
    check_save_args,
)
from self_learning.store.cleanup import Cleanup
from self_learning.store.errors import StoreError, explain
from self_learning.store.inventory import Inventory, signature
from self_learning.store.layout import (
    CURRENT_FILE,
    METADATA_SUFFIX,
    check_network_name,
    pair_dir,
    parse_version,
    tmp_name,
    version_dirname,
)
from self_learning.store.network import Upgrade, read_network, save_network
from self_learning.store.snapshot import Snapshot, assign_snapshot, snapshot_variables
from self_learning.store.templates import GraphTemplates, layout_hash, values_layout

logger = logging.getLogger(__name__)

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> threading.Lock:
    key = str(folder.resolve(strict=False))
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class VersionInfo:
    number: int
    path: Path
    duration_ms: float
    graphs_reused: tuple[str, ...]


@dataclass(frozen=True)
class RestoreResult:
    version: int
    path: Path
    metadata: dict[str, dict[str, Any]]
    upgraded: tuple[str, ...] = ()  # networks read from an earlier layout


class PairStore:
    """Versions of one pair's networks below `<root>/<safe pair name>`."""

    def __init__(self, root: Path, pair: str, keep_versions: int = 3,
                 templates: GraphTemplates | None = None, identity: tuple[str, ...] = ()):
        """`identity`: caller metadata fields that name the model (e.g. its feature list);
        retention never removes a version whose fields differ from the one being saved."""
        self.pair = pair
        self.root = Path(root)
        self.path = pair_dir(root, pair)
        self.keep_versions = keep_versions
        self._templates = templates if templates is not None else GraphTemplates()
        self._lock = _folder_lock(self.path)
        self._inventory = Inventory(pair, identity)
        self._cleanup = Cleanup(pair, self.path, keep_versions, self._inventory)

    @property
    def versions(self) -> list[int]:
        """Version numbers written by this store (foreign `vNNNNNN` folders excluded), oldest
        first. Listed, not verified: restore still checks each one."""
        return [n for n, folder in self._version_folders() if carries_our_metadata(folder)]

    @property
    def latest(self) -> int | None:
        versions = self.versions
        return versions[-1] if versions else None

    def newest_metadata(self) -> dict[str, dict[str, Any]] | None:
        """The metadata documents of the newest version this store wrote, by network; read,
        not verified (for quick checks before a restore, which verifies everything)."""
        for _, folder in reversed(self._version_folders()):
            if carries_our_metadata(folder):
                return {path.name[: -len(METADATA_SUFFIX)]: meta.read(path)
                        for path in sorted(folder.glob(f"*{METADATA_SUFFIX}"))}
        return None

    def save(self, modules: Mapping[str, tf.Module], metadata: Mapping[str, Mapping[str, Any]],
             graph_keys: Mapping[str, str]) -> VersionInfo:
        """Write all networks as a new version; returns once it is published and durable."""
        check_modules(modules)
        fields = check_save_args(list(modules), metadata, graph_keys)
        # Walked afresh: a module may have gained variables since an earlier save.
        values = snapshot_variables(modules, cached=False)
        return self._save(values, lambda: modules, fields, graph_keys)

    def save_snapshot(self, values: Snapshot, metadata: Mapping[str, Mapping[str, Any]],
                      graph_keys: Mapping[str, str],
                      build_modules: Callable[[], Mapping[str, tf.Module]]) -> VersionInfo:
        """Write a snapshot taken earlier (`snapshot_variables`) as a new version.

        The graphs come from the store's templates (any pair's, same graph key);
        `build_modules()` is called at most once, only when a network has no template yet,
        and must return modules of the same architecture holding exactly `values`."""
        if not isinstance(values, Mapping) or not values:
            raise ValueError("values must be a non-empty snapshot (snapshot_variables)")
        for name in values:
            check_network_name(name)
        fields = check_save_args(list(values), metadata, graph_keys)
        return self._save(values, build_modules, fields, graph_keys)

    def _save(self, values: Snapshot, build_modules, fields, graph_keys) -> VersionInfo:
        built: list[Mapping[str, tf.Module]] = []

        def module(name: str) -> tf.Module:
            if not built:
                modules = build_modules()
                check_modules(modules)
                if set(modules) != set(values):
                    raise ValueError(f"build_modules() gave {sorted(modules)}, the snapshot "
                                     f"has {sorted(values)}")
                built.append(modules)
            return built[0][name]

        with self._lock:
            try:
                info = self._save_locked(values, module, fields, graph_keys)
            except StoreError:
                raise
            except Exception as err:
                raise (explain(err, self.path, f"saving {self.pair}") or err) from err
        logger.info("Saved %s %s (%d networks, %d graphs reused, %.0f ms)", self.pair,
                    info.path.name, len(values), len(info.graphs_reused), info.duration_ms)
        return info

    def restore(self, modules: Mapping[str, tf.Module],
                upgrade: Upgrade | None = None) -> RestoreResult | None:
        """Read the newest good version into `modules` (freshly built, same architecture).

        A version that fails verification is skipped with one warning naming it and the reason;
        nothing is deleted. Returns None (modules untouched) when no version is usable.
        """
        for name in modules:
            check_network_name(name)
        with self._lock:
            start = time.perf_counter()
            candidates = sorted(self._version_folders(), reverse=True)
            backup = snapshot_variables(modules, traced=False) if candidates else None
            for number, folder in candidates:
                try:
                    docs = self._verify(number, folder, modules)
                    upgraded = tuple(name for name, module in modules.items()
                                     if read_network(module, folder / name, name,
                                                     docs.get(name), upgrade))
                except meta.MetadataError as err:
                    logger.warning("Skipping saved version %s: %s", folder, err)
                    continue
                except Exception as err:  # noqa: BLE001 - any read failure means "not usable"
                    assign_snapshot(modules, backup)
                    clear = explain(err, folder, "reading it")
                    reason = str(err).strip().splitlines()[0][:300] if str(err) else ""
                    logger.warning("Skipping saved version %s: %s", folder, clear or
                                   f"its checkpoint does not fit these networks "
                                   f"({type(err).__name__}: {reason})")
                    continue
                logger.info("Restored %s %s (%d networks, %.0f ms)", self.pair, folder.name,
                            len(modules), (time.perf_counter() - start) * 1e3)
                return RestoreResult(number, folder, docs, upgraded)
        if candidates:
            logger.warning("No usable saved version for %s in %s; fresh models will be "
                           "started.", self.pair, self.path)
        else:
            logger.info("No saved version for %s in %s; fresh models will be started.",
                        self.pair, self.path)
        return None

    def _save_locked(self, values: Snapshot, module, fields, graph_keys) -> VersionInfo:
        start = time.perf_counter()
        writer_lock.hold(self.root)
        self.path.mkdir(parents=True, exist_ok=True)
        self._cleanup.remove_leftovers()
        expected = {name: layout_hash(values_layout(values[name])) for name in values}
        identity = self._inventory.identity
        self._cleanup.make_room(self._version_folders, signature(expected, fields, identity))
        number = max([n for n, _ in self._version_folders()], default=0) + 1
        previous = self._previous_docs(list(values))
        tmp = self.path / tmp_name(version_dirname(number))
        try:
            reused, layouts = self._write_version(tmp, number, values, module, fields,
                                                  graph_keys, previous)
            sync_tree(tmp)
            final = self.path / version_dirname(number)
            publish_dir(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        self._inventory.remember(final)
        replace_json_atomic(self.path / CURRENT_FILE, {"version": number, "folder": final.name})
        self._cleanup.apply(self._version_folders, signature(layouts, fields, identity), number)
        return VersionInfo(number, final, (time.perf_counter() - start) * 1e3, reused)

    def _write_version(self, tmp: Path, number: int, values: Snapshot, module, fields,
                       graph_keys, previous) -> tuple[tuple[str, ...], dict[str, str]]:
        tmp.mkdir()
        reused, layouts = [], {}
        for name in values:
            was_reused, layout = save_network(tmp / name, graph_keys[name], values[name],
                                              lambda n=name: module(n), self._templates,
                                              previous.get(name))
            layouts[name] = layout
            if was_reused:
                reused.append(name)
            document = meta.build(
                name, self.pair, number, fields[name], graph_key=graph_keys[name],
                graph_reused=was_reused, variables_layout=layout, files=checksum_tree(tmp / name),
            )
            write_json(tmp / f"{name}{METADATA_SUFFIX}", document)
        return tuple(reused), layouts

    def _verify(self, number: int, folder: Path, modules) -> dict[str, dict[str, Any]]:
        """Metadata and files of every requested network; MetadataError with the reason."""
        docs = {}
        for name in modules:
            doc = meta.read(folder / f"{name}{METADATA_SUFFIX}")
            meta.validate(doc, name, self.pair)
            if doc["version"] != number:
                raise meta.MetadataError(f"{name}.json says version {doc['version']!r}")
            for rel, expected in doc["files"].items():
                check_file(folder / name / rel, f"{name}/{rel}", expected)
            docs[name] = doc
        return docs

    def _version_folders(self) -> list[tuple[int, Path]]:
        if not self.path.is_dir():
            return []
        found = [(parse_version(entry.name), entry) for entry in self.path.iterdir()]
        return sorted((n, entry) for n, entry in found
                      if n is not None and entry.is_dir() and not entry.is_symlink())

    def _previous_docs(self, names: list[str]) -> dict[str, tuple[Path, dict[str, Any]]]:
        """Per network, the metadata of the newest version holding readable metadata of ours
        for it (foreign or damaged folders are passed over; files are checked before reuse)."""
        found: dict[str, tuple[Path, dict[str, Any]]] = {}
        for _, folder in reversed(self._version_folders()):
            for name in names:
                if name in found:
                    continue
                try:
                    doc = meta.read(folder / f"{name}{METADATA_SUFFIX}")
                    meta.validate(doc, name, self.pair)
                except meta.MetadataError:
                    continue
                found[name] = (folder / name, doc)
            if len(found) == len(names):
                break
        return found
