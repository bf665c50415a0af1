"""benchmarks/upgrade_drill.py: the move-back before a downgrade to a release from before the
store's move, decided from the old tree's code."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmark_support import load_benchmark

drill = load_benchmark("upgrade_drill")

BEFORE_MOVE = "def plan_store(identifier_dir, runmode):\n    ...\n"  # 77f6740's shape
AFTER_MOVE = "def live_store(user_data_dir, identifier):\n    ...\n" + BEFORE_MOVE


def tree(tmp_path: Path, run_stores: str) -> Path:
    path = tmp_path / "tree" / drill.RUN_STORES_PY
    path.parent.mkdir(parents=True)
    path.write_text(run_stores)
    return tmp_path / "tree"


def live_store(user_data: Path) -> Path:
    version = user_data / drill.STORE / "BTC_USDT" / "v000012"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"weights")
    return version


def test_this_tree_keeps_the_store_in_its_new_home():
    """The release under test has the move: no move-back when it is the 'old' tree."""
    assert not drill.predates_store_move(Path(drill.__file__).resolve().parents[1])


@pytest.mark.parametrize(("stage", "run_stores", "moves"), [
    ("oldagain", BEFORE_MOVE, True),
    ("oldagain", AFTER_MOVE, False),
    ("old", BEFORE_MOVE, False),
    ("new", BEFORE_MOVE, False),
])
def test_store_moves_back_only_before_a_downgrade_to_a_release_before_the_move(
        tmp_path, stage, run_stores, moves):
    user_data = tmp_path / "user_data"
    live_store(user_data)
    moved = drill.before_stage(stage, tree(tmp_path, run_stores), user_data)
    here, legacy = str(drill.STORE), str(drill.LEGACY_STORE)
    assert moved == ([here, legacy] if moves else None)
    assert drill.store_place(user_data) == {legacy if moves else here: "v000012"}
    if moves:
        assert (user_data / drill.LEGACY_STORE / "BTC_USDT" / "v000012" /
                "saved_model.pb").read_bytes() == b"weights"
        assert legacy == "models/drill/self_learning"


def test_store_place_names_both_homes_and_their_newest_version(tmp_path):
    user_data = tmp_path / "user_data"
    live_store(user_data)
    (user_data / drill.LEGACY_STORE / "BTC_USDT" / "v000003").mkdir(parents=True)
    (user_data / drill.LEGACY_STORE / "BTC_USDT" / ".tmp-self_learning-v000004-x").mkdir()
    assert drill.store_place(user_data) == {"self_learning/drill": "v000012",
                                            "models/drill/self_learning": "v000003"}
