"""Which store a run learns into, by run mode (self_learning.runtime.run_stores), from a table."""

from pathlib import Path

import pytest

from self_learning.runtime.run_stores import plan_store, run_folder_name

ID = Path("user_data/models/self-learning")
START = 1_736_294_400  # 2025-01-08T00:00:00Z


@pytest.mark.parametrize("runmode,timerange,from_live,root,live,seed", [
    ("live", None, False, "self_learning", True, None),
    ("dry_run", "20250108-20250114", False, "self_learning", True, None),
    ("dry_run", None, True, "self_learning", True, None),  # the option means nothing live
    ("backtest", "20250108-20250114", False,
     "self_learning_runs/backtest-20250108-20250114", False, None),
    ("backtest", "20250108-20250114", True,
     "self_learning_runs/backtest-20250108-20250114-from-live", False, "self_learning"),
    ("hyperopt", "20250108-", False, "self_learning_runs/hyperopt-20250108", False, None),
    ("util_no_exchange", "1736294400-1736380800", False,
     "self_learning_runs/analysis-1736294400-1736380800", False, None),
    ("backtest", None, False, "self_learning_runs/backtest-all", False, None),
    ("webserver", "20250108-20250114", False,
     "self_learning_runs/webserver-20250108-20250114", False, None),
    (None, None, False, "self_learning_runs/unknown-all", False, None),
])
def test_store_plan_table(runmode, timerange, from_live, root, live, seed):
    """Only live and dry-run use the live store; every other mode (backtest, hyperopt, the
    analyses' util_no_exchange, anything unknown) learns into its own folder per mode and
    timerange, and reads the live store only as a seed when asked to."""
    plan = plan_store(ID, runmode, timerange, START if timerange else None, from_live)
    assert plan.root == ID / root
    assert plan.live_store is live and plan.background_saves is live
    assert plan.seed == (ID / seed if seed else None)
    assert plan.not_after_ts == (START if seed and timerange else None)


@pytest.mark.parametrize("timerange", ["../../etc", "2025/01/08-", "a b\nc", "-" * 3])
def test_run_folder_names_stay_inside_the_identifier(timerange):
    """Whatever the timerange text, the run folder is one plain name (no separators)."""
    name = run_folder_name("backtest", timerange, False)
    assert "/" not in name and "\\" not in name and ".." not in name and name.strip()
    assert name.startswith("backtest-")
