"""Which version folders retention may remove: an intact version of *this* model (same
networks, variable layout and identity fields as the version being saved), or something to
leave alone, with the reason the log gives.

Left alone: folders without this store's metadata, versions of another model (other
networks, another variable layout such as an earlier release's, other identity fields such as
another feature list), versions holding files the store did not write, damaged versions and
versions that cannot be read. A version is verified (every file against its sha256) before
it counts as intact; the result is remembered per version while its files' size, times and
inodes stay the same, so a routine save re-reads nothing it verified before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from self_learning.store import metadata as meta
from self_learning.store.atomic import list_files
from self_learning.store.checks import check_file
from self_learning.store.layout import METADATA_SUFFIX

# network -> (variables layout hash, identity field values)
Signature = dict[str, tuple[str, tuple]]
Stamp = tuple[tuple[str, int, int, int, int], ...]


def signature(layouts: Mapping[str, str], fields: Mapping[str, Mapping[str, Any]],
              identity: Sequence[str]) -> Signature:
    """What makes two versions the same model, from layout hashes and caller fields."""
    return {name: (layouts[name], tuple(_text(fields[name].get(key)) for key in identity))
            for name in layouts}


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class Inventory:
    """Classifies one pair's version folders; remembers what it verified."""

    def __init__(self, pair: str, identity: Sequence[str]):
        self.pair = pair
        self.identity = tuple(identity)
        self._verified: dict[Path, Stamp] = {}

    def reason_to_keep(self, number: int, folder: Path, wanted: Signature) -> str | None:
        """None when `folder` is an intact version of the model `wanted` describes (retention
        may remove it once newer ones supersede it), else why it must stay."""
        docs = {}
        try:
            os.listdir(folder)  # glob would take an unreadable folder for an empty one
        except OSError as err:
            return _unreadable(err, "it cannot be read")
        for path in sorted(folder.glob(f"*{METADATA_SUFFIX}")):
            try:
                docs[path.name[: -len(METADATA_SUFFIX)]] = meta.read(path)
            except meta.MetadataError as err:
                return _unreadable(err, "it is not a version this store wrote")
        if not docs or any(d.get("schema_version") != meta.SCHEMA_VERSION for d in docs.values()):
            return "it is not a version this store wrote (or in a schema this build cannot read)"
        if set(docs) != set(wanted):
            return (f"it holds the networks {sorted(docs)}, this model has {sorted(wanted)} "
                    "(another model)")
        for name, doc in docs.items():
            try:
                meta.validate(doc, name, self.pair)
            except meta.MetadataError as err:
                return f"it is damaged ({err})"
            other = self._other_model(doc, wanted[name])
            if other:
                return f"it was saved {other} (another model)"
        extra = _files_not_written(folder, docs)
        if extra:
            return f"it holds files the store did not write ({', '.join(extra[:3])})"
        return self._check_files(folder, docs)

    def remember(self, folder: Path) -> None:
        """A version this process has just written and verified."""
        self._verified[folder] = _stamp(folder)

    def forget(self, folder: Path) -> None:
        self._verified.pop(folder, None)

    def _other_model(self, doc: Mapping[str, Any], wanted: tuple[str, tuple]) -> str:
        layout, values = wanted
        if doc.get("variables_layout") != layout:
            return "with another variable layout (e.g. by another release)"
        stored = tuple(_text(doc.get(key)) for key in self.identity)
        differ = [key for key, a, b in zip(self.identity, stored, values, strict=True) if a != b]
        return f"with other {', '.join(differ)}" if differ else ""

    def _check_files(self, folder: Path, docs: Mapping[str, Mapping[str, Any]]) -> str | None:
        try:
            stamp = _stamp(folder)
            if self._verified.get(folder) == stamp:
                return None
            for name, doc in docs.items():
                for rel, expected in doc["files"].items():
                    check_file(folder / name / rel, f"{name}/{rel}", expected)
        except meta.MetadataError as err:
            return _unreadable(err, "it is damaged")
        except OSError as err:
            return _unreadable(err, "it cannot be read")
        self._verified[folder] = stamp
        return None


def _unreadable(err: Exception, what: str) -> str:
    if isinstance(err, PermissionError) or isinstance(err.__cause__, PermissionError) \
            or "ermission" in str(err):
        return (f"it cannot be read ({err})" if "permission problem" in str(err)
                else f"it cannot be read: a permission problem ({err})")
    return f"{what} ({err})"


def _files_not_written(folder: Path, docs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    ours = {f"{name}{METADATA_SUFFIX}" for name in docs}
    ours |= {f"{name}/{rel}" for name, doc in docs.items() for rel in doc["files"]}
    return [rel for rel in list_files(folder) if rel not in ours]


def _stamp(folder: Path) -> Stamp:
    rows, root = [], os.fspath(folder)
    for rel in list_files(folder):
        st = os.stat(os.path.join(root, rel))
        rows.append((rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(rows)
