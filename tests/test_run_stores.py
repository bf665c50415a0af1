"""Which store a run learns into, by run mode (self_learning.runtime.run_stores), from a table."""

from pathlib import Path

import pytest

from self_learning.runtime.run_stores import live_store, plan_store, run_folder_name

USER_DATA = Path("user_data")
ID = USER_DATA / "models" / "self-learning"  # FreqAI's model folder of the identifier
LIVE = live_store(USER_DATA, "self-learning")
START = 1_736_294_400  # 2025-01-08T00:00:00Z


def nothing_exists(path: Path) -> bool:
    return False


def test_the_live_store_lives_outside_freqais_model_folder():
    """freqtrade's lookahead- and recursive-analysis delete `user_data/models/<identifier>/`:
    the live store is `user_data/self_learning/<identifier>/`, its legacy place inside it."""
    assert LIVE.root == Path("user_data/self_learning/self-learning")
    assert not LIVE.root.is_relative_to(ID)
    assert LIVE.legacy == ID / "self_learning"


@pytest.mark.parametrize("runmode,timerange,from_live,root,live,seed", [
    ("live", None, False, "<live>", True, None),
    ("dry_run", "20250108-20250114", False, "<live>", True, None),
    ("dry_run", None, True, "<live>", True, None),  # the option means nothing live
    ("backtest", "20250108-20250114", False,
     "self_learning_runs/backtest-20250108-20250114", False, None),
    ("backtest", "20250108-20250114", True,
     "self_learning_runs/backtest-20250108-20250114-from-live", False, "<live>"),
    ("hyperopt", "20250108-", False, "self_learning_runs/hyperopt-20250108", False, None),
    ("util_no_exchange", "1736294400-1736380800", False,
     "self_learning_runs/analysis-1736294400-1736380800", False, None),
    ("backtest", None, False, "self_learning_runs/backtest-all", False, None),
    ("webserver", "20250108-20250114", False,
     "self_learning_runs/webserver-20250108-20250114", False, None),
    (None, None, False, "self_learning_runs/unknown-all", False, None),
])
def test_store_plan_table(runmode, timerange, from_live, root, live, seed):
    """Only live and dry-run use the live store (and move it from its legacy place at start);
    every other mode (backtest, hyperopt, the analyses' util_no_exchange, anything unknown)
    learns into its own folder per mode and timerange inside FreqAI's model folder, and reads
    the live store only as a seed when asked to, never moving it."""
    plan = plan_store(ID, LIVE, runmode, timerange, START if timerange else None, from_live,
                      nothing_exists)
    assert plan.root == (LIVE.root if root == "<live>" else ID / root)
    assert plan.live_store is live and plan.background_saves is live
    assert plan.moves_from == (LIVE.legacy if live else None)
    assert plan.seed == (LIVE.root if seed else None)
    assert plan.not_after_ts == (START if seed and timerange else None)


@pytest.mark.parametrize("existing,seed", [
    ((), "root"),                   # no live store yet: the seed is empty, nothing to load
    (("root",), "root"),
    (("legacy",), "legacy"),        # the bot has not run since the upgrade: read it there
    (("root", "legacy"), "root"),   # the bot refuses to start on both; a backtest reads root
])
def test_a_backtest_from_the_live_model_reads_it_where_it_is(existing, seed):
    """backtest_from_live_model seeds from the live store, or from its legacy place while only
    that exists (read only: the backtest plans no move)."""
    paths = {"root": LIVE.root, "legacy": LIVE.legacy}
    found = {paths[name] for name in existing}
    plan = plan_store(ID, LIVE, "backtest", "20250108-20250114", START, True, found.__contains__)
    assert plan.seed == paths[seed]
    assert plan.moves_from is None and not plan.live_store


@pytest.mark.parametrize("timerange", ["../../etc", "2025/01/08-", "a b\nc", "-" * 3])
def test_run_folder_names_stay_inside_the_identifier(timerange):
    """Whatever the timerange text, the run folder is one plain name (no separators)."""
    name = run_folder_name("backtest", timerange, False)
    assert "/" not in name and "\\" not in name and ".." not in name and name.strip()
    assert name.startswith("backtest-")
