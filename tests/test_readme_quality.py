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
