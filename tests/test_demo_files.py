"""`make demo`'s bookkeeping: what it wrote is listed, `make clean-demo` removes exactly that;
its "why it traded" lines count the candles passing each entry filter in turn, and say what
the entry signals realized against what they predicted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from self_learning.candles.features import OHLCV, observed_targets
from self_learning.reports.entries import (
    describe_funnel,
    describe_outcome,
    entry_funnel,
    entry_outcome,
    rules_from_hyperopt,
    with_fee_rule,
)
from self_learning.strategy.strategy_columns import EntryRules, filters_off

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from demo_files import DemoFiles  # noqa: E402


def test_clean_removes_what_the_demo_wrote_and_nothing_else(tmp_path):
    """The listed model folder, a new result file and the demo's config go; the user's own
    model and results stay, also a file there before that the demo changed."""
    models, results = tmp_path / "user_data" / "models", tmp_path / "user_data" / "backtest_results"
    (models / "mine").mkdir(parents=True)
    results.mkdir(parents=True)
    (results / "mine.zip").write_text("user")
    (results / ".last_result.json").write_text("{}")
    files = DemoFiles(tmp_path)
    before = DemoFiles.snapshot(results)
    files.record(models / "self-learning-demo-1")
    files.write_config("self-learning-demo-1")
    (models / "self-learning-demo-1" / "sub").mkdir(parents=True)
    (results / "demo.zip").write_text("demo")
    (results / ".last_result.json").write_text('{"latest_backtest": "demo.zip"}')
    files.record_new(results, before)
    files.record(tmp_path / "outside.txt")  # never removed: not in user_data/ or .demo/
    (tmp_path / "outside.txt").write_text("x")

    config = json.loads(files.config.read_text())
    assert config == {"freqai": {"identifier": "self-learning-demo-1"}}
    removed = files.clean()

    assert sorted(removed) == sorted(["user_data/models/self-learning-demo-1", ".demo/demo.json",
                                      "user_data/backtest_results/demo.zip"])
    assert (models / "mine").is_dir() and (results / "mine.zip").exists()
    assert (results / ".last_result.json").exists()
    assert (tmp_path / "outside.txt").exists()
    assert files.clean() == []


def rows(pred: list[float], **columns) -> pd.DataFrame:
    n = len(pred)
    data = {"volume": 1.0, "do_predict": 1, "&-s_close": pred, "&-novelty": 0.0,
            "&-score_ic": 0.3, "&-score_hit_rate": 0.5}
    data.update(columns)
    return pd.DataFrame(data, index=range(n))


def test_funnel_counts_each_filter_in_turn_and_names_the_blocking_one():
    rng = np.random.default_rng(0)
    pred = list(rng.normal(0.0, 0.0005, 300))
    pred[200] = pred[250] = 0.004
    ic = np.full(300, 0.3)
    ic[250] = -0.2
    funnel = entry_funnel({"A/B": rows(pred, **{"&-score_ic": ic})},
                          EntryRules(use_score_ic=True))
    counts = [count for _, count in funnel]
    assert counts[0] == counts[1] == 300
    assert counts[2] == 2 and counts[-1] == 1  # two clear the threshold, the IC stops one
    assert counts == sorted(counts, reverse=True)
    default = entry_funnel({"A/B": rows(pred, **{"&-score_ic": ic})}, EntryRules())
    assert default[-1][1] == 2  # the IC filter is off by default
    quiet = entry_funnel({"A/B": rows([0.0001] * 300)}, EntryRules())
    text = describe_funnel(quiet, trades=0)
    assert "0 entry signals, 0 trades" in text
    assert "no candle passed '&-s_close > entry_threshold 0.003'" in text


def test_the_funnel_applies_the_strategys_fee_rule():
    """Predictions above the entry threshold whose matured record says they realize nothing
    are stopped by the fee rule, which the funnel names (as the strategy's entries are)."""
    rng = np.random.default_rng(1)
    n = 1200
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    pred = np.where(np.arange(n) % 50 == 0, 0.004, rng.normal(0.0, 0.0005, n))
    frame = rows(list(pred)).assign(open=close, high=close * 1.001, low=close * 0.999,
                                    close=close, volume=1.0)
    plain = entry_funnel({"A/B": frame}, EntryRules())
    priced, rules = with_fee_rule({"A/B": frame}, EntryRules(use_expected_return=True), 12,
                                  3600, fee=0.001)
    funnel = dict(entry_funnel(priced, rules))
    assert "expected_return > round-trip fee 0.002" in funnel
    assert funnel["expected_return > round-trip fee 0.002"] < plain[-1][1]


def test_hyperopt_parameters_replace_the_defaults():
    rules = rules_from_hyperopt({"buy": {"entry_threshold": 0.005, "entry_z": 0.5,
                                         "use_entry_z": True, "fee_margin": 0.001}})
    assert rules == EntryRules(threshold=0.005, z=0.5, use_entry_z=True, fee_margin=0.001)


def test_the_funnel_lists_the_optional_filters_that_are_off():
    """`make demo` names each optional filter that is off, and only those."""
    funnel = entry_funnel({"A/B": rows([0.004] * 30)}, EntryRules(use_entry_z=True))
    text = describe_funnel(funnel, trades=1, off=filters_off(EntryRules(use_entry_z=True)))
    lines = [line.split() for line in text.splitlines()]
    off = [" ".join(words[:-1]) for words in lines if words[-1] == "off"]
    assert off == ["&-score_ic >= min_score_ic 0.1 (or not known yet) [use_score_ic]",
                   "expected_return > round-trip fee [use_expected_return]"]
    assert len(filters_off(EntryRules())) == 3


def priced_rows(seed: int, signals: list[int], n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    pred = np.full(n, 0.0001)
    pred[signals] = 0.004 + 0.001 * np.arange(len(signals))
    return rows(list(pred)).assign(open=close, high=close * 1.001, low=close * 0.999,
                                   close=close, volume=1.0)


def test_the_demo_says_what_the_entry_signals_realized_pooled_over_pairs():
    h = 4
    a, b = priced_rows(0, [20, 50, 198]), priced_rows(1, [30])  # 198: its H candles never pass
    outcome = entry_outcome({"A/B": a, "C/D": b}, EntryRules(), h)
    realized = [observed_targets(f[OHLCV].to_numpy(dtype=np.float64), h)[r, 0]
                for f, r in ((a, 20), (a, 50), (b, 30))]
    assert outcome.matured == 3
    assert outcome.realized == pytest.approx(np.mean(realized))
    assert outcome.predicted == pytest.approx(np.mean([0.004, 0.005, 0.004]))
    text = describe_outcome(outcome, 0.002)
    assert text.startswith("  3 entry signals matured: predicted +0.433 % on average")
    assert ("not above the round trip" in text) == (outcome.realized <= 0.002)
    none = entry_outcome({"A/B": priced_rows(0, [])}, EntryRules(), h)
    assert none.matured == 0 and "No entry signal has matured" in describe_outcome(none, 0.002)
