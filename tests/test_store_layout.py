"""Pure parts of self_learning.store: pair folder names, version names, retention, metadata."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from self_learning.store import ModelStore, versions_to_remove
from self_learning.store import metadata as meta
from self_learning.store.layout import (
    pair_dir,
    parse_version,
    safe_pair_dirname,
    version_dirname,
)


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("BTC/USDT", "BTC_USDT"),
        ("ETH/BTC", "ETH_BTC"),
        ("1000SHIB/USDT", "1000SHIB_USDT"),
        ("BTC-PERP/USD.T", "BTC-PERP_USD.T"),
    ],
)
def test_plain_pairs_map_without_hash(pair, expected):
    """Ordinary pairs get a readable folder name: only `/` is replaced."""
    assert safe_pair_dirname(pair) == expected


@pytest.mark.parametrize("pair", ["BTC_USDT", "BTC/USDT:USDT", "ÄBC/USDT", ".env", "a b/c*d",
                                  "X" * 200])
def test_lossy_pairs_get_a_hash_and_stay_safe(pair):
    """When sanitising loses information a short hash is appended and the result is plain."""
    name = safe_pair_dirname(pair)
    assert len(name.rsplit("-", 1)[-1]) == 8
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert not name.startswith(".")
    assert len(name) <= 64 + 9


def test_pair_folder_names_are_unique():
    """Pairs that sanitise to the same text still get different folders."""
    pairs = ["BTC/USDT", "BTC_USDT", "BTC:USDT", "BTC USDT", "btc/usdt", "BTC/USDT:USDT",
             "BTC/USDT_USDT", "X" * 100, "X" * 101]
    names = [safe_pair_dirname(p) for p in pairs]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("pair", "reason"),
    [
        ("../evil", "'..'"),
        ("BTC/../../etc", "'..'"),
        ("..", "'..'"),
        ("/etc/passwd", "absolute"),
        ("\\\\server\\share", "absolute"),
        ("C:\\models", "absolute"),
        ("~/x", "absolute"),
        ("BTC\x00/USDT", "NUL"),
        ("BTC\n/USDT", "control"),
        ("", "non-empty"),
    ],
)
def test_unsafe_pair_names_are_refused_and_create_nothing(tmp_path, caplog, pair, reason):
    """Traversal, absolute paths, NUL and control characters raise a clear ValueError, log it
    (except the empty name), and nothing is created inside or next to the store root."""
    root = tmp_path / "models" / "self_learning"
    root.mkdir(parents=True)
    caplog.set_level(logging.ERROR, logger="self_learning.store")
    with pytest.raises(ValueError, match=reason):
        ModelStore(root).pair(pair)
    if pair:
        assert any("Refusing pair name" in r.getMessage() for r in caplog.records)
    assert list(tmp_path.rglob("*")) == [tmp_path / "models", root]


def test_pair_dir_sits_directly_in_root(tmp_path):
    """Whatever the pair, its folder's parent is the root."""
    for pair in ["BTC/USDT", "a/b/c/d", "..x/y..", "x/./y_"]:
        try:
            folder = pair_dir(tmp_path, pair)
        except ValueError:
            continue
        assert folder.resolve().parent == tmp_path.resolve()


def test_version_names_round_trip():
    """`vNNNNNN` names and numbers map both ways; other names are not versions."""
    assert version_dirname(4) == "v000004"
    assert parse_version("v000004") == 4
    for name in ["v4", "v0000004", "v000000", "V000004", "v00000a", "backup", ".tmp-v000004"]:
        assert parse_version(name) is None
    with pytest.raises(ValueError, match="1..999999"):
        version_dirname(0)


@pytest.mark.parametrize(
    ("versions", "keep", "protect", "removed"),
    [
        ([], 3, [], []),
        ([1], 3, [], []),
        ([1, 2, 3], 3, [], []),
        ([1, 2, 3, 4], 3, [], [1]),
        ([1, 2, 3, 4, 5, 6], 3, [], [1, 2, 3]),
        ([6, 1, 4, 2], 2, [], [1, 2]),
        ([1, 2, 3, 4], 1, [], [1, 2, 3]),
        ([1, 2, 3, 4], 1, [2], [1, 3]),
        ([1, 5, 9], 2, [], [1]),
        ([3, 3, 2, 1], 2, [], [1]),
    ],
)
def test_retention_policy_table(versions, keep, protect, removed):
    """Keep the newest `keep` (plus protected ones); the rest are removed, oldest first."""
    assert versions_to_remove(versions, keep, protect) == removed


@pytest.mark.parametrize("keep", [0, -1, 1.5, True, "3"])
def test_retention_rejects_bad_keep(keep):
    with pytest.raises(ValueError, match="keep must be an int >= 1"):
        versions_to_remove([1, 2], keep)


def _doc(**changes):
    files = {"saved_model.pb": {}, "variables/variables.index": {},
             "variables/variables.data-00000-of-00001": {}}
    doc = {key: None for key in meta.STORE_FIELDS}
    doc.update(store_format=meta.STORE_FORMAT, schema_version=meta.SCHEMA_VERSION,
               model_name="encoder", pair="BTC/USDT", files=files, training_counter=3)
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"schema_version": 2}, "unknown schema_version 2"),
        ({"schema_version": "1"}, "unknown schema_version"),
        ({"model_name": "decoder"}, "describes 'decoder'"),
        ({"pair": "ETH/USDT"}, "belongs to pair"),
        ({"files": {"../x": {}}}, "non-relative"),
        ({"files": {"/abs/saved_model.pb": {}}}, "non-relative"),
        ({"files": {"saved_model.pb": {}}}, "complete SavedModel"),
    ],
)
def test_metadata_validation_names_the_reason(changes, reason):
    """Each kind of bad metadata is refused with a reason a user can act on."""
    meta.validate(_doc(), "encoder", "BTC/USDT")
    with pytest.raises(meta.MetadataError, match=reason):
        meta.validate(_doc(**changes), "encoder", "BTC/USDT")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "must contain 'training_counter'"),
        ({"training_counter": -1}, "int >= 0"),
        ({"training_counter": 1.5}, "int >= 0"),
        ({"training_counter": 1, "files": []}, "reserved by the store"),
        ({"training_counter": 1, "x": object()}, "metadata\\['encoder'\\].x"),
    ],
)
def test_caller_metadata_is_checked_up_front(fields, reason):
    with pytest.raises(ValueError, match=reason):
        meta.caller_fields("encoder", fields)


def test_caller_metadata_converts_numpy_and_datetimes():
    import datetime as dt

    import numpy as np

    out = meta.caller_fields("encoder", {
        "training_counter": np.int64(4), "shape": np.array([1, 2]),
        "last": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "features": ("a", "b"),
    })
    assert out == {"training_counter": 4, "shape": [1, 2],
                   "last": "2026-01-02T00:00:00+00:00", "features": ["a", "b"]}


def test_read_refuses_foreign_json(tmp_path: Path):
    (tmp_path / "encoder.json").write_text('{"something": "else"}')
    with pytest.raises(meta.MetadataError, match="not written by this store"):
        meta.read(tmp_path / "encoder.json")
    (tmp_path / "decoder.json").write_text('{"trunc')
    with pytest.raises(meta.MetadataError, match="unreadable"):
        meta.read(tmp_path / "decoder.json")


def test_publishing_never_replaces_an_existing_folder(tmp_path: Path):
    """publish_dir refuses a final name that exists, even an empty folder (which a plain
    rename would silently replace): both stay as they were."""
    from self_learning.store.atomic import publish_dir

    tmp, final = tmp_path / ".tmp-self_learning-v000001-x", tmp_path / "v000001"
    (tmp / "encoder").mkdir(parents=True)
    final.mkdir()
    with pytest.raises(FileExistsError, match="Refusing to overwrite"):
        publish_dir(tmp, final)
    assert (tmp / "encoder").is_dir() and list(final.iterdir()) == []
    final.rmdir()
    publish_dir(tmp, final)
    assert (final / "encoder").is_dir() and not tmp.exists()
