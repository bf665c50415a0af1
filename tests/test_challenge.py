"""A drift response is a challenger (monitor/challenge.py): the model from before it keeps
predicting, the response's predictions are served only while its record since the response is
better, and the next training keeps the better of the two. A store written before challenges
existed (tests/fixtures/store_a645a97) loads with everything it learned."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, planted_candles, small_config, small_learner

from self_learning.candles.samples import Candles
from self_learning.learning.learner import PairLearner
from self_learning.runtime.lifecycle import SelfLearningRuntime
from self_learning.store.layout import VARIABLES_PREFIX

FIXTURE = Path(__file__).parent / "fixtures" / "store_a645a97"
START, END = 1500, 2300


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2400, seed=11, strength=0.6)


def flipped(c: Candles, at: int) -> Candles:
    """The same market whose signal feature reads the opposite way from candle `at` on."""
    features = c.features.copy()
    features[at:, 0] *= -1.0
    return Candles(c.ts, c.ohlcv, features)


def fitted(candles, **overrides) -> PairLearner:
    learner = small_learner(**overrides)
    learner.fit(candles.rows(slice(0, START)))
    return learner


def respond(learner) -> None:
    """What a drift alarm on a clearly negative rolling IC does (DriftResponse._respond)."""
    learner.programs.traceable.adapt._respond()


def test_a_response_keeps_the_model_before_it_and_serves_it_until_beaten(candles):
    learner = fitted(candles)
    m, st = learner.nets.discovery.module, learner.state
    beta, n = m.wide_beta.numpy().copy(), float(m.stats_n.numpy())
    before = learner.predict(candles.rows(slice(START, START + 50))).s_close
    respond(learner)
    assert float(st.challenge_on.numpy()) == 1.0 and float(m.serve_shadow.numpy()) == 1.0
    np.testing.assert_array_equal(m.shadow_wide_beta.numpy(), beta)
    assert float(m.shadow_stats_n.numpy()) == n
    assert float(m.stats_n.numpy()) == pytest.approx(0.1 * n)  # drift_forget
    m.wide_beta.assign(-beta)  # the challenger moves; the incumbent is what is served
    np.testing.assert_array_equal(
        learner.predict(candles.rows(slice(START, START + 50))).s_close, before)
    # A matured sample the challenger predicted better turns the record: it is served.
    st.pending_rival.assign(tf.constant([[0.5, 3.0, 1.0]] + [[0.0, 0.0, 0.0]] * 5))
    challenge = learner.programs.traceable.challenge
    challenge.score(challenge.pending(0), tf.constant(0.5))
    assert float(st.challenge_record.numpy()) > 0 and float(m.serve_shadow.numpy()) == 0.0
    np.testing.assert_allclose(
        learner.predict(candles.rows(slice(START, START + 50))).s_close, -before, rtol=1e-5,
        atol=1e-9)
    # A sample predicted before the challenge began (flag 0) does not count.
    record = float(st.challenge_record.numpy())
    st.pending_rival.assign(tf.constant([[3.0, 0.5, 0.0]] * 6))
    challenge.score(challenge.pending(0), tf.constant(0.5))
    assert float(st.challenge_record.numpy()) == record


def test_after_a_flip_the_response_wins_and_the_training_keeps_it(candles):
    market = flipped(candles, START)
    learner = fitted(market)
    respond(learner)
    out = learner.observe(market.rows(slice(START, END)))
    st, m = learner.state, learner.nets.discovery.module
    assert float(st.challenge_record.numpy()) > 0 and float(m.serve_shadow.numpy()) == 0.0
    late = slice(END - START - 300, None)  # served: the challenger, which learned the flip
    assert np.corrcoef(out.s_close[late], market.features[END - 300:END, 0])[0, 1] < -0.2
    report = learner.fit(market.rows(slice(END - START, END)))
    assert report.challenge == "kept" and "drift response kept" in report.describe("X/BTC")
    assert float(st.challenge_on.numpy()) == 0.0 and int(st.responses_undone.numpy()) == 0


def test_after_a_false_alarm_the_training_restores_the_model_before_it(candles):
    learner, twin = fitted(candles), fitted(candles)
    respond(learner)
    learner.observe(candles.rows(slice(START, END)))
    twin.observe(candles.rows(slice(START, END)))
    st, m = learner.state, learner.nets.discovery.module
    assert float(st.challenge_record.numpy()) <= 0 and float(m.serve_shadow.numpy()) == 1.0
    report = learner.fit(candles.rows(slice(END - START, END)))
    twin.fit(candles.rows(slice(END - START, END)))
    assert report.challenge == "restored" and int(st.responses_undone.numpy()) == 1
    assert float(st.challenge_on.numpy()) == 0.0 and float(m.serve_shadow.numpy()) == 0.0
    # Restored, then consolidated like a learner that never responded: the samples stepped
    # during the challenge were learned by this training at full weight, nothing lost.
    t = twin.nets.discovery.module
    np.testing.assert_allclose(m.stats_n.numpy(), t.stats_n.numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.stats_b.numpy(), t.stats_b.numpy(), rtol=1e-3, atol=1e-4)
    assert float(st.pool_trust.numpy()) == pytest.approx(1.0)
    assert float(st.boost.numpy()) == pytest.approx(0.0, abs=1e-6)


def test_without_drift_challenge_a_response_takes_over_at_once(candles):
    learner = fitted(candles, drift_challenge=False)
    respond(learner)
    assert float(learner.state.challenge_on.numpy()) == 0.0
    assert float(learner.nets.discovery.module.serve_shadow.numpy()) == 0.0
    assert learner.fit(candles.rows(slice(100, START + 100))).challenge is None


def test_a_store_from_before_challenges_loads_with_everything_it_learned(tmp_path):
    candles = planted_candles(2000, seed=5)  # what tests/fixtures/make_store.py ran
    root = tmp_path / "self_learning"
    shutil.copytree(FIXTURE, root)
    saved = tf.train.load_checkpoint(
        str(root / "BTC_USDT" / "v000002" / "feature_discovery" / VARIABLES_PREFIX))
    key = next(k for k in saved.get_variable_to_shape_map() if k.startswith("wide_beta/"))
    rt = SelfLearningRuntime(small_config(), root, TIMEFRAME_S, background_saves=False)
    restored = rt.learners.learner("BTC/USDT", FEATURES, int(candles.ts[1599]))
    assert restored.wide_ready and restored.training_counter > 100
    np.testing.assert_array_equal(restored.nets.discovery.module.wide_beta.numpy(),
                                  saved.get_tensor(key))
    assert float(restored.state.challenge_on.numpy()) == 0.0
    later = restored.observe(candles.rows(slice(1600, 1700)))
    context = small_config().window_candles  # a restart has no window context yet
    assert later.ok[context:].all() and np.isfinite(later.s_close).all()
    signal = candles.features[1600 + context:1700, 0]
    assert np.corrcoef(later.s_close[context:], signal)[0, 1] > 0.2
    rt.shutdown()


def test_an_undecided_challenge_goes_on_across_a_training_and_both_take_its_rows(candles):
    learner = fitted(candles)
    m, st = learner.nets.discovery.module, learner.state
    respond(learner)
    # At most H samples predicted during the challenge have matured: never decisive (their
    # sum is within sqrt(n * sum of squares) <= sqrt(H * sum of squares)). The first step
    # also steps the H candles before, as its pending ring starts empty.
    learner.observe(candles.rows(slice(START, START + 5)))
    assert 0 < float(st.challenge_samples.numpy()) <= 6
    kept_n = float(m.shadow_stats_n.numpy())
    report = learner.fit(candles.rows(slice(100, START + 5)))
    assert report.challenge == "on trial" and "still on trial" in report.describe("X/BTC")
    assert float(st.challenge_on.numpy()) == 1.0
    assert float(m.shadow_stats_n.numpy()) > kept_n  # the incumbent learned the new rows too
    assert float(m.shadow_recent_n.numpy()) == 0.0 and float(m.recent_n.numpy()) == 0.0


def test_an_alarm_during_a_challenge_does_not_forget_the_challenger_again(candles):
    learner = fitted(candles)
    m, st, adapt = learner.nets.discovery.module, learner.state, learner.programs.traceable.adapt
    respond(learner)
    n = st.scoreboard_size
    rng = np.random.default_rng(3)
    real = rng.normal(size=n)
    for p, y in zip(-0.6 * real + 0.8 * rng.normal(size=n), real, strict=True):  # losing
        st.push_board(tf.constant([p, 0.01, -0.01], tf.float32),
                      tf.constant([y, 0.01, -0.01], tf.float32))
    st.alarm_age.assign(0.0)
    stats_n = float(m.stats_n.numpy())
    adapt.matured(tf.constant([0.0, 0.01, -0.01]), tf.constant([0.0, 0.01, -0.01]), 0.0)
    assert int(st.drift_responses.numpy()) == 1 and float(m.stats_n.numpy()) == stats_n
    learner.programs.traceable.challenge.clear()  # without a challenge the same alarm is acted on
    st.alarm_age.assign(0.0)
    adapt.matured(tf.constant([0.0, 0.01, -0.01]), tf.constant([0.0, 0.01, -0.01]), 0.0)
    assert int(st.drift_responses.numpy()) == 2


def test_a_challenge_in_progress_survives_a_restart_bit_for_bit(candles, tmp_path):
    from self_learning.learning import upgrades
    from self_learning.networks.pair_networks import SCHEMA
    from self_learning.store.network import read_network

    market = flipped(candles, START)
    original = fitted(market)
    respond(original)
    original.observe(market.rows(slice(START, START + 200)))
    assert float(original.state.challenge_samples.numpy()) > 100
    for name, module in original.modules().items():
        tf.train.Checkpoint(root=module).write(str(tmp_path / name / VARIABLES_PREFIX))
    restored = small_learner()
    for name, module in restored.modules().items():
        read_network(module, tmp_path / name, name, {"layout": SCHEMA}, upgrades.upgrade)
    ahead = market.rows(slice(START + 150, START + 400))  # with its window context
    p, q = original.observe(ahead), restored.observe(ahead)
    np.testing.assert_array_equal(p.s_close, q.s_close)
    for a, b in zip(original.modules().values(), restored.modules().values(), strict=True):
        for x, y in zip(a.state_variables(), b.state_variables(), strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_the_challenge_column_says_which_model_served_each_candle(candles):
    """`&-challenge` (scores["challenge"]) is 0 while no challenge is on, -1 while the incumbent
    is served (from the response until the challenger's record turns positive), +1 while the
    challenger is, and 0 again once a training settles it; in the stepped rows and in rows
    predicted without stepping. On a flipped market the rows marked +1 are the ones whose
    prediction reads the flip (the challenger learned it), the rows marked -1 are not."""
    market = flipped(candles, START)
    learner = fitted(market)
    quiet = learner.observe(market.rows(slice(START - 50, START)))
    assert len(quiet.ts) > 0 and (quiet.scores["challenge"] == 0.0).all()
    respond(learner)
    np.testing.assert_array_equal(
        learner.predict(market.rows(slice(START, START + 50))).scores["challenge"], -1.0)
    out = learner.observe(market.rows(slice(START, END)))
    side = out.scores["challenge"]
    assert set(np.unique(side)) == {-1.0, 1.0} and side[0] == -1.0 and side[-1] == 1.0
    signal = market.features[START:END, 0]
    incumbent, challenger = side == -1.0, side == 1.0
    assert incumbent.sum() >= 10 and challenger.sum() >= 10
    assert np.corrcoef(out.s_close[incumbent], signal[incumbent])[0, 1] > 0.5
    assert np.corrcoef(out.s_close[challenger], signal[challenger])[0, 1] < -0.2
    assert learner.fit(market.rows(slice(END - START, END))).challenge == "kept"
    after = learner.observe(market.rows(slice(END - 50, len(market.ts))))
    assert len(after.ts) > 0 and (after.scores["challenge"] == 0.0).all()
    np.testing.assert_array_equal(
        learner.predict(market.rows(slice(END, len(market.ts)))).scores["challenge"], 0.0)
