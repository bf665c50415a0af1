"""Two ways of running a drift response's challenge, both off by default (monitor/challenge.py;
docs/hourly.md, fifth round): `challenge_gain_record` scores it by the covariance gain
(challenger - incumbent) x outcome instead of the Huber loss difference, and `challenge_blend`
serves Phi(z) x challenger + (1 - Phi(z)) x incumbent instead of whichever leads."""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config
from test_challenge import END, START, flipped, respond

from self_learning.config import parse_config
from self_learning.learning.learner import PairLearner
from self_learning.monitor.challenge import gain, incumbent_share


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2400, seed=11, strength=0.6)


def fitted(candles, **overrides) -> PairLearner:
    deterministic()
    learner = PairLearner(small_config(**overrides), FEATURES, TIMEFRAME_S)
    learner.fit(candles.rows(slice(0, START)))
    return learner


def test_both_options_are_off_by_default():
    cfg = parse_config({"feature_parameters": {"label_period_candles": 4}})
    assert cfg.challenge_blend is False and cfg.challenge_gain_record is False


def test_the_gain_record_does_not_reward_shrinking_towards_zero():
    """An incumbent that overshoots with the right sign against a challenger that predicts 0:
    the Huber difference favours the challenger (smaller loss), the covariance gain the
    incumbent (it ranked the outcome, the challenger did not)."""
    challenger, incumbent, y = tf.constant(0.0), tf.constant(2.0), tf.constant(0.3)
    assert float(gain(challenger, incumbent, y, gain_record=False)) > 0.5
    assert float(gain(challenger, incumbent, y, gain_record=True)) == pytest.approx(-0.6)
    assert float(gain(tf.constant(1.0), incumbent, tf.constant(-0.5), True)) == pytest.approx(0.5)


@pytest.mark.parametrize("record,power,share", [
    (0.0, 0.0, 0.5),                 # nothing scored yet: half each
    (2.0, 1.0, 0.1586553),           # z = 2 / sqrt(4 x 1) = 1: 1 - Phi(1)
    (-2.0, 1.0, 0.8413447),          # z = -1
    (40.0, 1.0, 0.0),                # decisive for the challenger
])
def test_the_blend_gives_the_incumbent_one_minus_phi_of_the_records_z(record, power, share):
    got = incumbent_share(tf.constant(True), tf.constant(record), tf.constant(power), 4, True)
    assert float(got) == pytest.approx(share, abs=1e-6)
    off = incumbent_share(tf.constant(False), tf.constant(record), tf.constant(power), 4, True)
    assert float(off) == 0.0


@pytest.mark.parametrize("record,share", [(0.0, 1.0), (-1.0, 1.0), (0.01, 0.0)])
def test_without_the_blend_the_leader_alone_is_served(record, share):
    got = incumbent_share(tf.constant(True), tf.constant(record), tf.constant(1.0), 4, False)
    assert float(got) == share
    off = incumbent_share(tf.constant(False), tf.constant(record), tf.constant(1.0), 4, False)
    assert float(off) == 0.0


def test_a_blended_challenge_serves_the_share_of_each_model(candles):
    learner = fitted(candles, challenge_blend=True, challenge_gain_record=True)
    m, st, challenge = learner.nets.discovery.module, learner.state, learner.programs.p.challenge
    rows = candles.rows(slice(START, START + 50))
    incumbent = learner.predict(rows).s_close
    respond(learner)
    assert float(m.serve_shadow.numpy()) == 0.5
    m.wide_beta.assign(3.0 * m.shadow_wide_beta)  # the challenger predicts 3 x the incumbent
    np.testing.assert_allclose(learner.predict(rows).s_close, 2.0 * incumbent, rtol=1e-4,
                               atol=1e-9)
    # A matured sample the challenger ranked better (a larger Huber loss, too) moves the
    # share towards it: the record is its covariance gain (3.0 - 0.5) x 0.5.
    st.pending_rival.assign(tf.constant([[3.0, 0.5, 1.0]] + [[0.0, 0.0, 0.0]] * 5))
    challenge.score(challenge.pending(0), tf.constant(0.5))
    assert float(st.challenge_record.numpy()) == pytest.approx(1.25)
    share = float(m.serve_shadow.numpy())
    assert 0.0 < share < 0.5
    np.testing.assert_allclose(learner.predict(rows).s_close,
                               (share + 3.0 * (1.0 - share)) * incumbent, rtol=1e-4, atol=1e-9)
    challenge.clear()  # outside a challenge the challenger alone
    assert float(m.serve_shadow.numpy()) == 0.0
    np.testing.assert_allclose(learner.predict(rows).s_close, 3.0 * incumbent, rtol=1e-4,
                               atol=1e-9)


def test_after_a_flip_both_options_in_the_compiled_loop_keep_the_response(candles):
    market = flipped(candles, START)
    learner = fitted(market, challenge_blend=True, challenge_gain_record=True)
    respond(learner)
    learner.observe(market.rows(slice(START, END)))
    st, m = learner.state, learner.nets.discovery.module
    record, power = float(st.challenge_record.numpy()), float(st.challenge_power.numpy())
    assert record > 0 and np.isfinite(power)
    share = float(m.serve_shadow.numpy())
    z = record / np.sqrt(st.horizon * power)
    assert share == pytest.approx(0.5 * float(tf.math.erfc(z / np.sqrt(2.0))), abs=1e-5)
    assert share < 0.5
    report = learner.fit(market.rows(slice(END - START, END)))
    assert report.challenge == "kept"
