"""Checks of a PairStore: save arguments (before anything is written), files against their
recorded size and sha256, and whether a version folder is this store's own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

from self_learning.store import metadata as meta
from self_learning.store.atomic import sha256_file
from self_learning.store.layout import METADATA_SUFFIX, check_network_name


def carries_our_metadata(folder: Path) -> bool:
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


def check_file(path: Path, label: str, expected: Mapping[str, Any]) -> None:
    try:
        if not path.is_file():
            raise meta.MetadataError(f"file {label} is missing")
        size = os.path.getsize(path)
        if size != expected.get("bytes"):
            raise meta.MetadataError(
                f"file {label} has {size} bytes, expected {expected.get('bytes')} (truncated?)"
            )
        if sha256_file(path) != expected.get("sha256"):
            raise meta.MetadataError(f"file {label} fails its sha256 checksum (corrupted)")
    except PermissionError as err:
        raise meta.MetadataError(
            f"file {label} cannot be read: a permission problem ({err.strerror}: "
            f"{err.filename or path}); let the bot's user read it") from err


def check_modules(modules) -> None:
    if not isinstance(modules, Mapping) or not modules:
        raise ValueError("modules must be a non-empty mapping of name -> tf.Module")
    for name, module in modules.items():
        check_network_name(name)
        if not isinstance(module, tf.Module):
            raise ValueError(f"modules[{name!r}] must be a tf.Module, got {type(module).__name__}")


def check_save_args(names: list[str], metadata, graph_keys) -> dict[str, dict[str, Any]]:
    """Validate everything before writing anything; returns the JSON-ready caller fields."""
    for label, given in (("metadata", metadata), ("graph_keys", graph_keys)):
        if not isinstance(given, Mapping) or set(given) != set(names):
            keys = sorted(given) if isinstance(given, Mapping) else type(given).__name__
            raise ValueError(f"{label} must have exactly the keys {sorted(names)}, got {keys}")
    for name, key in graph_keys.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"graph_keys[{name!r}] must be a non-empty string, got {key!r}")
    return {name: meta.caller_fields(name, metadata[name]) for name in names}
