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

Thread safety: `save` and `restore` hold a per-pair lock shared by every PairStore of the same
folder in this process, so two concurrent saves of one pair (e.g. the autosave thread and a
shutdown save) run one after the other. Only one process may write a pair folder at a time.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from self_learning.store import metadata as meta
from self_learning.store.atomic import (
    checksum_tree,
    publish_dir,
    remove_dir_atomic,
    replace_json_atomic,
    sha256_file,
    sync_tree,
    write_json,
)
from self_learning.store.layout import (
    CURRENT_FILE,
    METADATA_SUFFIX,
    check_network_name,
    is_tmp_name,
    pair_dir,
    parse_version,
    tmp_name,
    version_dirname,
)
from self_learning.store.network import read_network, save_network
from self_learning.store.retention import versions_to_remove
from self_learning.store.snapshot import assign_snapshot, snapshot_variables

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


class PairStore:
    """Versions of one pair's networks below `<root>/<safe pair name>`."""

    def __init__(self, root: Path, pair: str, keep_versions: int = 3):
        self.pair = pair
        self.path = pair_dir(root, pair)
        self.keep_versions = keep_versions
        self._lock = _folder_lock(self.path)

    @property
    def versions(self) -> list[int]:
        """Version numbers written by this store (foreign `vNNNNNN` folders excluded), oldest
        first. Listed, not verified: restore still checks each one."""
        return [n for n, folder in self._version_folders() if _carries_our_metadata(folder)]

    @property
    def latest(self) -> int | None:
        versions = self.versions
        return versions[-1] if versions else None

    def save(self, modules: Mapping[str, tf.Module], metadata: Mapping[str, Mapping[str, Any]],
             graph_keys: Mapping[str, str]) -> VersionInfo:
        """Write all networks as a new version; returns once it is published and durable."""
        fields = _check_save_args(modules, metadata, graph_keys)
        with self._lock:
            start = time.perf_counter()
            self.path.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            number = max([n for n, _ in self._version_folders()], default=0) + 1
            previous = self._previous_docs(list(modules))
            tmp = self.path / tmp_name(version_dirname(number))
            try:
                reused = self._write_version(tmp, number, modules, fields, graph_keys, previous)
                sync_tree(tmp)
                final = self.path / version_dirname(number)
                publish_dir(tmp, final)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
            replace_json_atomic(self.path / CURRENT_FILE,
                                {"version": number, "folder": final.name})
            self._apply_retention(number)
            info = VersionInfo(number, final, (time.perf_counter() - start) * 1e3, reused)
        logger.info("Saved %s %s (%d networks, %d graphs reused, %.0f ms)", self.pair,
                    final.name, len(modules), len(reused), info.duration_ms)
        return info

    def restore(self, modules: Mapping[str, tf.Module]) -> RestoreResult | None:
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
                    for name, module in modules.items():
                        read_network(module, folder / name)
                except meta.MetadataError as err:
                    logger.warning("Skipping saved version %s: %s", folder, err)
                    continue
                except Exception as err:  # noqa: BLE001 - any read failure means "not usable"
                    assign_snapshot(modules, backup)
                    reason = str(err).strip().splitlines()[0][:300] if str(err) else ""
                    logger.warning("Skipping saved version %s: its checkpoint does not fit "
                                   "these networks (%s: %s)", folder, type(err).__name__, reason)
                    continue
                logger.info("Restored %s %s (%d networks, %.0f ms)", self.pair, folder.name,
                            len(modules), (time.perf_counter() - start) * 1e3)
                return RestoreResult(number, folder, docs)
        if candidates:
            logger.warning("No usable saved version for %s in %s; fresh models will be "
                           "started.", self.pair, self.path)
        else:
            logger.info("No saved version for %s in %s; fresh models will be started.",
                        self.pair, self.path)
        return None

    def _write_version(self, tmp: Path, number: int, modules, fields, graph_keys,
                       previous) -> tuple[str, ...]:
        tmp.mkdir()
        reused = []
        for name, module in modules.items():
            was_reused, layout = save_network(module, tmp / name, graph_keys[name],
                                              previous.get(name))
            if was_reused:
                reused.append(name)
            document = meta.build(
                name, self.pair, number, fields[name], graph_key=graph_keys[name],
                graph_reused=was_reused, variables_layout=layout, files=checksum_tree(tmp / name),
            )
            write_json(tmp / f"{name}{METADATA_SUFFIX}", document)
        return tuple(reused)

    def _verify(self, number: int, folder: Path, modules) -> dict[str, dict[str, Any]]:
        """Metadata and files of every requested network; MetadataError with the reason."""
        docs = {}
        for name in modules:
            doc = meta.read(folder / f"{name}{METADATA_SUFFIX}")
            meta.validate(doc, name, self.pair)
            if doc["version"] != number:
                raise meta.MetadataError(f"{name}.json says version {doc['version']!r}")
            for rel, expected in doc["files"].items():
                _check_file(folder / name / rel, f"{name}/{rel}", expected)
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

    def _remove_leftovers(self) -> None:
        """Delete temp files/folders of interrupted saves (only names with our temp prefix)."""
        for entry in self.path.iterdir():
            if not is_tmp_name(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            logger.info("Removed %s left by an interrupted save.", entry)

    def _apply_retention(self, newest: int) -> None:
        ours = {n: folder for n, folder in self._version_folders() if _carries_our_metadata(folder)}
        for number in versions_to_remove(ours, self.keep_versions, protect=[newest]):
            remove_dir_atomic(ours[number])
            logger.debug("Removed %s (keeping the last %d versions).", ours[number],
                         self.keep_versions)


def _carries_our_metadata(folder: Path) -> bool:
    """True when the folder holds metadata of this store in a schema this build understands."""
    docs = list(folder.glob(f"*{METADATA_SUFFIX}"))
    if not docs:
        return False
    for path in docs:
        try:
            doc = meta.read(path)
        except meta.MetadataError:
            return False
        if doc.get("schema_version") != meta.SCHEMA_VERSION:
            return False
    return True


def _check_file(path: Path, label: str, expected: Mapping[str, Any]) -> None:
    if not path.is_file():
        raise meta.MetadataError(f"file {label} is missing")
    size = os.path.getsize(path)
    if size != expected.get("bytes"):
        raise meta.MetadataError(
            f"file {label} has {size} bytes, expected {expected.get('bytes')} (truncated?)"
        )
    if sha256_file(path) != expected.get("sha256"):
        raise meta.MetadataError(f"file {label} fails its sha256 checksum (corrupted)")


def _check_save_args(modules, metadata, graph_keys) -> dict[str, dict[str, Any]]:
    """Validate everything before writing anything; returns the JSON-ready caller fields."""
    if not isinstance(modules, Mapping) or not modules:
        raise ValueError("modules must be a non-empty mapping of name -> tf.Module")
    for name, module in modules.items():
        check_network_name(name)
        if not isinstance(module, tf.Module):
            raise ValueError(f"modules[{name!r}] must be a tf.Module, got {type(module).__name__}")
    for label, given in (("metadata", metadata), ("graph_keys", graph_keys)):
        if not isinstance(given, Mapping) or set(given) != set(modules):
            keys = sorted(given) if isinstance(given, Mapping) else type(given).__name__
            raise ValueError(f"{label} must have exactly the keys {sorted(modules)}, got {keys}")
    for name, key in graph_keys.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"graph_keys[{name!r}] must be a non-empty string, got {key!r}")
    return {name: meta.caller_fields(name, metadata[name]) for name in modules}
