"""Markets with sessions: hourly forex-like candles whose weekends freqtrade filled with
no-trade candles. The learner predicts every real candle once it has a window of real
candles (Monday's first candle included), never predicts or learns a filled candle, and
learns each real candle exactly once, whether the candles arrive in one block, one by one or
in blocks that end inside a weekend. The strategy's indicators and targets run over the same
real candles."""

import numpy as np
import pytest
from synthetic import (
    FEATURES,
    HOUR_S,
    deterministic,
    small_config,
    small_runtime,
    weekend_filled_candles,
)

from self_learning.learning.learner import PairLearner

H = 6          # label_period_candles of small_config
FIT_HOURS = 24 * 21
HOURS = 24 * 28


@pytest.fixture(scope="module")
def session():
    return weekend_filled_candles(HOURS, seed=5)


def fitted(candles):
    deterministic()
    learner = PairLearner(small_config(), FEATURES, HOUR_S)
    report = learner.fit(candles.rows(slice(0, FIT_HOURS)))
    return learner, report


def test_fit_learns_every_real_candle_with_a_window_and_a_target(session):
    """A first training learns the real candles that have W real candles up to them and H
    after them, none of the filled ones, and names why the other rows were skipped."""
    candles, filled = session
    learner, report = fitted(candles)
    real = int((~filled[:FIT_HOURS]).sum())
    window = learner.config.window_candles
    assert report.samples == real - (window - 1) - H
    assert report.skips.no_trade == int(filled[:FIT_HOURS].sum())
    assert report.skips.window_warmup == window - 1
    assert report.skipped == report.skips.total == FIT_HOURS - real + window - 1


def test_every_real_candle_is_predicted_and_learned_once_across_weekends(session):
    """Stepped candle by candle after the fit (the live path): every real candle gets a usable
    prediction, the first one after each weekend included; filled candles get none and are
    never learned; each stepped real candle is learned once its label matures, and a FreqAI
    retrain over the same candles afterwards finds nothing new to learn."""
    candles, filled = session
    learner, _ = fitted(candles)
    ok, learned, passed_over, halted = {}, 0, 0, []
    for i in range(FIT_HOURS, HOURS):
        p = learner.observe(candles.rows(slice(i, i + 1)))
        learned += p.learned
        passed_over += p.passed_over
        halted.append(p.halted)
        ok.update(zip(p.ts.tolist(), p.ok.tolist(), strict=True))
    new = np.arange(FIT_HOURS, HOURS)
    np.testing.assert_array_equal(halted, filled[new])  # halted while the weekend lasts
    real_new = candles.ts[new[~filled[new]]]
    assert set(ok) == set(real_new.tolist()), "a filled candle was stepped or a real one missed"
    assert passed_over == int(filled[new].sum()), "filled candles passed over, uncounted"
    assert all(ok.values()), "a real candle without a usable prediction"
    mondays = new[1:][filled[new[:-1]] & ~filled[new[1:]]]
    assert len(mondays) == 1 and ok[int(candles.ts[mondays[0]])]
    # The H real candles at the end of the fit had no label then: stepped (from the history)
    # with the first new candle, they are learned as the next H real candles arrive; the
    # last H stepped ones wait for their labels.
    assert learned == len(real_new) == learner.training_counter - 1
    again = learner.fit(candles.rows(slice(HOURS - FIT_HOURS, HOURS)))
    assert again.samples == 0


@pytest.mark.parametrize("seed", range(2))
def test_blocks_ending_inside_a_weekend_learn_like_one_block(session, seed):
    """The stream is the sequence of real candles: blocks of any length (some made only of
    filled candles, some ending in the middle of a weekend) step, predict and learn exactly
    like one block over the same candles, bit for bit (same compiled program)."""
    candles, filled = session
    whole, _ = fitted(candles)
    pieces, _ = fitted(candles)
    expected = whole.observe(candles.rows(slice(FIT_HOURS, HOURS)))
    cuts = np.sort(np.random.default_rng(seed).choice(
        np.arange(FIT_HOURS + 1, HOURS), size=40, replace=False))
    weekend = np.flatnonzero(filled[FIT_HOURS:]) + FIT_HOURS
    cuts = np.unique(np.r_[cuts, weekend[3], weekend[4], weekend[30]])
    bounds = np.r_[FIT_HOURS, cuts, HOURS]
    parts = [pieces.observe(candles.rows(slice(a, b)))
             for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    assert any(len(p.ts) == 0 for p in parts), "no block made only of filled candles"
    for name in ("ts", "s_close", "novelty", "ok", "training_counter"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in parts]),
                                      getattr(expected, name))
    assert pieces.training_counter == whole.training_counter
    assert pieces.last_seen_ts == whole.last_seen_ts == int(candles.ts[~filled][-1])


def test_a_weekend_is_logged_when_it_starts_and_when_learning_resumes(session, tmp_path,
                                                                     caplog):
    """Live, one candle per call: the learning line of each real candle, but the weekend's
    filled candles only twice: when the halt starts, and in the line of the first real candle
    after it, which counts them all (runtime/learning_log.py)."""
    import logging

    candles, filled = session
    rt = small_runtime(tmp_path)
    rt.fit("EUR/USD", FEATURES, candles.rows(slice(0, FIT_HOURS)))
    rt.predict("EUR/USD", FEATURES, candles.rows(slice(0, FIT_HOURS)), learn=True)
    caplog.set_level(logging.INFO, logger="self_learning.runtime.learning_log")
    for i in range(FIT_HOURS, HOURS):  # the recent frame, as FreqAI hands it over live
        rt.predict("EUR/USD", FEATURES, candles.rows(slice(i - 100, i + 1)), learn=True)
    lines = [r.getMessage() for r in caplog.records]
    weekend = int(filled[FIT_HOURS:].sum())
    assert weekend > 24
    assert [line for line in lines if "passed over" in line] == [
        next(line for line in lines if "halt:" in line),
        next(line for line in lines if f"; {weekend} new candles passed over" in line)]
    assert rt.shutdown()


def test_predict_marks_filled_candles_unusable(session):
    """`predict` (what backtests without prequential learning use) gives every real candle
    with a full window a usable row and every filled candle an unusable one."""
    candles, filled = session
    learner, _ = fitted(candles)
    p = learner.predict(candles.rows(slice(FIT_HOURS, HOURS)))
    np.testing.assert_array_equal(p.ok, ~filled[FIT_HOURS:])


# -- the strategy's features and targets on the same candles ---------------------------------


@pytest.fixture(scope="module")
def strategy():
    from strategy_support import load_strategy_module

    strat = load_strategy_module().SelfLearningStrategy({})
    strat.freqai_info = {"feature_parameters": {"label_period_candles": H}}
    return strat


def test_strategy_features_run_over_real_candles(strategy):
    """On a weekend-filled frame, every real candle's features equal those computed on the
    real candles alone (indicators see the sequence of real candles, like the model), and a
    filled candle carries the previous real candle's values, so FreqAI's shifted copies of
    Sunday's first candle are finite."""
    import pandas as pd
    from synthetic import weekend_filled_frame

    frame = weekend_filled_frame(24 * 21, seed=4).drop(columns="filled")
    real = frame.loc[frame["volume"] > 0].reset_index(drop=True)
    for compute in (lambda d: strategy.feature_engineering_expand_all(d, 20, metadata={}),
                    lambda d: strategy.feature_engineering_expand_basic(d, metadata={})):
        full, alone = compute(frame.copy()), compute(real.copy())
        columns = [c for c in full.columns if c.startswith("%")]
        on_real = full.loc[frame["volume"] > 0, columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(on_real, alone[columns])
        carried = full[columns].where(frame["volume"] > 0).ffill()
        pd.testing.assert_frame_equal(full[columns], carried)
        assert full[columns].iloc[60:].notna().all().all()


def test_strategy_targets_are_the_models_targets(strategy):
    """set_freqai_targets gives each real candle the model's own targets over the next H real
    candles (features.targets over observed candles) and filled candles NaN."""
    from synthetic import weekend_filled_frame

    from self_learning.candles.samples import prepare

    frame = weekend_filled_frame(24 * 14, seed=6)
    targets = strategy.set_freqai_targets(frame.drop(columns="filled"), metadata={})
    candles, filled = weekend_filled_candles(24 * 14, seed=6)
    s = prepare(candles, 4, H)
    names = ["&-s_close", "&-liq_up", "&-liq_down"]
    assert targets.loc[filled, names].isna().all().all()
    known = s.target_ok
    np.testing.assert_allclose(targets.loc[known, names].to_numpy(), s.targets[known],
                               rtol=1e-5, atol=1e-9)
    observed = np.flatnonzero(~filled)
    assert targets.loc[observed[-H:], names].isna().all().all()
    assert targets.loc[observed[:-H], names].notna().all().all()
