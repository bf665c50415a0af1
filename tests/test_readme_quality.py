"""benchmarks/readme_quality.py: the README's quality section is generated from the benchmark's
JSON files, never typed by hand, and its verdict sentence follows the intervals."""

from __future__ import annotations

import pytest
from benchmark_support import load_benchmark

readme = load_benchmark("readme_quality")


def test_readme_quality_section_is_generated_from_the_committed_results():
    """README.md between the markers is exactly what docs/results/quality-*.json render to
    (run `.venv/bin/python benchmarks/readme_quality.py` after a benchmark run)."""
    assert readme.main(["--check"]) == 0


def figures(sl_low, sl_high, vs_naive=(0.01, 0.02), vs_lgbm=(-0.01, 0.02)):
    return {"mean.self_learning.ic_ci_low": sl_low, "mean.self_learning.ic_ci_high": sl_high,
            "mean.naive.ic_ci_low": -0.01, "mean.naive.ic_ci_high": 0.01,
            "mean.self_learning.vs_naive_ci_low": vs_naive[0],
            "mean.self_learning.vs_naive_ci_high": vs_naive[1],
            "mean.self_learning.vs_lightgbm_ci_low": vs_lgbm[0],
            "mean.self_learning.vs_lightgbm_ci_high": vs_lgbm[1]}


@pytest.mark.parametrize(("fig", "says"), [
    (figures(0.01, 0.05), "IC interval above 0: SelfLearning; SelfLearning beats the yardstick;"
                          " SelfLearning is not distinguishable from LightGBM."),
    (figures(-0.02, 0.03, (-0.03, -0.01)),
     "no model's IC interval lies above 0 (no measurable edge); SelfLearning is below the "
     "yardstick; SelfLearning is not distinguishable from LightGBM."),
])
def test_verdict_follows_the_intervals(fig, says):
    assert readme.verdict(fig, "") == says


def test_rewrite_replaces_only_the_marked_section():
    text = f"intro\n{readme.BEGIN}\nold\n{readme.END}\noutro\n"
    assert readme.rewrite(text, "new\n") == f"intro\n{readme.BEGIN}\nnew\n{readme.END}\noutro\n"
    with pytest.raises(SystemExit, match="lacks the markers"):
        readme.rewrite("no markers", "new\n")


def test_ablation_table_carries_each_rows_trades_and_full_minus_row_trade_profit():
    """The ablation rows get their trades beside the IC, and full minus the row's daily trade
    profit summed over days with its interval ("-" for files measured before it existed)."""
    fig = {"ablation.full.ic": 0.1, "ablation.full.trades": 700.0,
           "ablation.full.profit_pct": 49.4, "ablation.full.max_drawdown_pct": 10.1,
           "ablation.full.entry_pred_pct": 0.5, "ablation.full.entry_realized_pct": 0.25,
           "ablation.no_online.ic": 0.1, "ablation.no_online.diff": 0.0,
           "ablation.no_online.trades": 500.0, "ablation.no_online.profit_pct": 18.8,
           "paired_trades.no_online.diff": 30.6, "paired_trades.no_online.diff_ci_low": 8.2,
           "paired_trades.no_online.diff_ci_high": 57.3}
    assert readme.ablation_line(fig, "", "full") == \
        "| full | +0.1000 |  | 700 | 49.40 | 10.10 | 0.500 / 0.250 |  |"
    assert readme.ablation_line(fig, "", "no_online") == \
        ("| no_online | +0.1000 | +0.0000 [-, -] | 500 | 18.80 | - | - | "
         "+30.60 [+8.20, +57.30] |")
    del fig["paired_trades.no_online.diff"]
    assert readme.ablation_line(fig, "", "no_online").endswith("| - | - | - |")


def test_blocks_follow_the_order_and_the_2018_pairs_are_not_called_a_holdout():
    """The README shows the control and today's markets before the 2018 pairs, and the 2018
    block says those pairs are where earlier releases were developed, not a plain holdout."""
    def fig(name):
        return {"meta": {"set": name, "timeframe": "5m", "pairs": ["A/BTC"], "date": "d",
                         "commit": "c", "command": "x",
                         "windows": {"w": ["20180117-20180130", "holdout"]}}}
    names = ["btc-2018", "other", "usdt-5m", "scenario-null", "usdt-1h"]
    got = [f["meta"]["set"] for f in readme.in_order([fig(n) for n in names])]
    assert got == ["scenario-null", "usdt-1h", "usdt-5m", "btc-2018", "other"]
    ic = {"mean.self_learning.ic": 0.03, **figures(0.01, 0.05)}
    old = "\n".join(readme.file_block({**fig("btc-2018"), **ic}))
    assert "releases before issue 19 were developed on these pairs" in old
    assert "never chosen on" not in old
    plain = "\n".join(readme.file_block({**fig("usdt-5m"), **ic}))
    assert "Holdout windows (reported, never chosen on)" in plain
