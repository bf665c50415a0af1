"""PredictionHistory keeps the newest `keep` candles' predictions, each as it was when made:
live appends (one newer candle per call) and overlapping batches (a restart, a backtest
window) give the same rows as a plain dictionary of timestamp -> prediction."""

from dataclasses import replace

import numpy as np
import pytest

from self_learning.candles.predictions import SCORE_NAMES, Predictions
from self_learning.runtime.prediction_history import PredictionHistory, merge


def _predictions(ts, rng) -> Predictions:
    n = len(ts)
    return Predictions(np.asarray(ts, np.int64), *(rng.normal(size=n) for _ in range(4)),
                       rng.integers(1, 9, size=n), rng.random(n) > 0.3,
                       scores={k: rng.normal(size=n) for k in SCORE_NAMES})


def test_appends_and_overlaps_keep_the_newest_rows_as_predicted():
    rng = np.random.default_rng(3)
    history, reference, keep = PredictionHistory(keep=50), {}, 50
    newest = 0
    for call in range(300):
        if call % 25 == 7:  # an overlapping batch: older rows overwritten, some new ones
            ts = np.arange(newest - 30, newest + 5) * 60
        else:               # live: the next candle
            ts = np.array([newest + 1]) * 60
        p = _predictions(ts, rng)
        history.remember(p)
        for i, t in enumerate(p.ts):
            reference[int(t)] = (p.s_close[i], bool(p.ok[i]), p.scores["ic"][i])
        newest = int(p.ts[-1]) // 60
        kept = sorted(reference)[-keep:]
        reference = {t: reference[t] for t in kept}
        got = history.lookup(np.array(kept))
        expected = np.array([reference[t][0] for t in kept])
        np.testing.assert_array_equal(got.s_close, expected)
        np.testing.assert_array_equal(got.ok, [reference[t][1] for t in kept])
        np.testing.assert_array_equal(got.scores["ic"], [reference[t][2] for t in kept])
        assert not history.missing(np.array(kept)).any()
    assert history.missing(np.array([kept[0] - 60])).all()  # forgotten past `keep`


def test_merge_keeps_the_counts_of_the_stepped_rows():
    """The counts of the per-candle learning (`learned N candles ...; K new candles passed
    over`, runtime/learning_log.py) survive the merge with the history that FreqAI's
    predictions come from, also when no row was stepped (a halted pair's new candle)."""
    rng = np.random.default_rng(4)
    base = _predictions(np.arange(10) * 60, rng)
    stepped = _predictions(np.array([9]) * 60, rng)
    for rows in (replace(stepped, learned=1, passed_over=2),
                 replace(Predictions.empty(), passed_over=3, halted=True)):
        merged = merge(base, rows)
        assert (merged.learned, merged.passed_over, merged.halted) == (
            rows.learned, rows.passed_over, rows.halted)
        assert len(merged.ts) == 10


def test_missing_marks_exactly_the_candles_never_remembered():
    """`missing` is membership in the remembered timestamps (a sorted search): a candle
    before the first, between two or after the last remembered one is missing, a remembered
    one is not, whatever the order asked in; an empty history misses everything."""
    rng = np.random.default_rng(5)
    history = PredictionHistory(keep=10)
    assert history.missing(np.array([60, 120])).tolist() == [True, True]
    history.remember(_predictions(np.array([60, 180, 300]), rng))
    asked = np.array([360, 0, 60, 120, 180, 240, 300, 180])
    assert history.missing(asked).tolist() == [True, True, False, True, False, True, False,
                                               False]
    assert history.missing(np.zeros(0, np.int64)).tolist() == []


def test_rows_without_scores_merge_as_nan():
    """Predictions that carry no scores (e.g. a caller's own rows) merge and are remembered
    with NaN scores, and keep the scores of the rows that have them."""
    rng = np.random.default_rng(6)
    base = _predictions(np.arange(4) * 60, rng)
    bare = replace(_predictions(np.array([120]), rng), scores={})
    merged = merge(base, bare)
    for name in SCORE_NAMES:
        np.testing.assert_array_equal(merged.scores[name][[0, 1, 3]],
                                      base.scores[name][[0, 1, 3]])
        assert np.isnan(merged.scores[name][2])
    history = PredictionHistory(keep=10)
    history.remember(bare)
    assert np.isnan(history.lookup(np.array([120])).scores["ic"]).all()


def test_a_score_is_read_by_its_name_and_a_misspelt_name_fails():
    """Predictions.score: a score's values, NaN on every row where the block has none; a name
    that is not a score (a typo in a reader) is a KeyError, not a column of NaN that reads as
    'never known' (no drift alarm, an empty chart)."""
    rng = np.random.default_rng(5)
    p = _predictions([60, 120, 180], rng)
    np.testing.assert_array_equal(p.score("drift"), p.scores["drift"])
    bare = replace(p, scores={})
    assert bare.score("drift").shape == (3,) and np.isnan(bare.score("drift")).all()
    with pytest.raises(KeyError, match="no score 'drfit'"):
        bare.score("drfit")
