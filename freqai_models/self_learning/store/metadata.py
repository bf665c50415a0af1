"""Per-network metadata: build the JSON document at save time, validate it at restore time.

One `<name>.json` per network sits next to the network's SavedModel folder inside a version
folder. Store-owned fields are listed in STORE_FIELDS; everything else comes from the caller
(feature list, input shapes, last learned candle, ...) and is passed through unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

import self_learning
from self_learning.store.layout import SAVED_MODEL_FILE, VARIABLES_PREFIX

SCHEMA_VERSION = 1
STORE_FORMAT = "self_learning.store"
STORE_FIELDS = (
    "store_format", "schema_version", "model_name", "pair", "version", "saved_at",
    "model_version", "tensorflow_version", "tensorflow_available", "graph_key",
    "graph_reused", "variables_layout", "files",
)
REQUIRED_CALLER_FIELDS = ("training_counter",)


class MetadataError(ValueError):
    """A metadata document that this build cannot trust; the message is the reason."""


def to_jsonable(value: Any, where: str) -> Any:
    """Plain JSON types from common numpy/datetime values; ValueError naming `where` otherwise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(f"Metadata value {where} is not JSON-serialisable: {type(value).__name__}")


def caller_fields(name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert what the caller gives for one network (before anything is written)."""
    if not isinstance(fields, Mapping):
        raise ValueError(f"metadata[{name!r}] must be a mapping, got {type(fields).__name__}")
    clash = sorted(set(fields) & set(STORE_FIELDS))
    if clash:
        raise ValueError(f"metadata[{name!r}] uses keys reserved by the store: {clash}")
    for key in REQUIRED_CALLER_FIELDS:
        if key not in fields:
            raise ValueError(f"metadata[{name!r}] must contain {key!r}")
    counter = fields["training_counter"]
    if isinstance(counter, bool) or not isinstance(counter, int | np.integer) or counter < 0:
        raise ValueError(
            f"metadata[{name!r}]['training_counter'] must be an int >= 0, got {counter!r}"
        )
    return to_jsonable(dict(fields), f"metadata[{name!r}]")


def build(name: str, pair: str, version: int, fields: Mapping[str, Any], *, graph_key: str,
          graph_reused: bool, variables_layout: str, files: Mapping[str, Any]) -> dict[str, Any]:
    """The full document for one network (caller fields already passed through caller_fields)."""
    import tensorflow as tf

    document = dict(fields)
    document.update(
        store_format=STORE_FORMAT,
        schema_version=SCHEMA_VERSION,
        model_name=name,
        pair=pair,
        version=version,
        saved_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        model_version=self_learning.__version__,
        tensorflow_version=tf.__version__,
        tensorflow_available=True,
        graph_key=graph_key,
        graph_reused=graph_reused,
        variables_layout=variables_layout,
        files=dict(files),
    )
    return document


def read(path: Path) -> dict[str, Any]:
    """Load a metadata file; MetadataError when it is missing, unreadable or not ours."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MetadataError(f"metadata file {path.name} is missing") from err
    except PermissionError as err:
        raise MetadataError(f"metadata file {path} cannot be read: a permission problem "
                            f"({err.strerror}); let the bot's user read it") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MetadataError(f"metadata file {path.name} is unreadable ({err})") from err
    if not isinstance(document, dict) or document.get("store_format") != STORE_FORMAT:
        raise MetadataError(f"{path.name} was not written by this store (foreign folder)")
    return document


def validate(document: Mapping[str, Any], name: str, pair: str) -> None:
    """Raise MetadataError with the reason when a document cannot be used for `name`/`pair`."""
    schema = document.get("schema_version")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema != SCHEMA_VERSION:
        raise MetadataError(
            f"unknown schema_version {schema!r} in {name}.json (this build reads "
            f"{SCHEMA_VERSION}); refusing this version and leaving its files in place"
        )
    missing = [key for key in STORE_FIELDS + REQUIRED_CALLER_FIELDS if key not in document]
    if missing:
        raise MetadataError(f"{name}.json lacks fields {missing}")
    if document["model_name"] != name:
        raise MetadataError(f"{name}.json describes {document['model_name']!r}, not {name!r}")
    if document["pair"] != pair:
        raise MetadataError(f"{name}.json belongs to pair {document['pair']!r}, not {pair!r}")
    files = document["files"]
    if not isinstance(files, Mapping):
        raise MetadataError(f"{name}.json has no file list")
    for rel in files:
        parts = PurePosixPath(rel).parts
        if PurePosixPath(rel).is_absolute() or ".." in parts or "\\" in rel:
            raise MetadataError(f"{name}.json lists a non-relative path {rel!r}")
    required = [SAVED_MODEL_FILE, VARIABLES_PREFIX + ".index"]
    absent = [rel for rel in required if rel not in files]
    if absent or not any(rel.startswith(VARIABLES_PREFIX + ".data-") for rel in files):
        raise MetadataError(f"{name}.json does not list a complete SavedModel ({absent})")
