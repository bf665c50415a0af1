"""The Page-Hinkley detector and the scoreboard, against direct computations."""

import numpy as np
import pytest
import tensorflow as tf

from self_learning.monitor import drift, scoreboard

SETTINGS = dict(delta=0.05, threshold=100.0, alpha=1.0 - 1.0 / 576, min_instances=288)


def reference_page_hinkley(xs, delta, threshold, alpha, min_instances):
    """River's PageHinkley ("up") on the same values: the alarms' indices."""
    from river.drift import PageHinkley

    ph = PageHinkley(min_instances=min_instances, delta=delta, threshold=threshold, alpha=alpha,
                     mode="up")
    alarms = []
    for i, x in enumerate(xs):
        ph.update(x)
        if ph.drift_detected:
            alarms.append(i)
    return alarms


def run_detector(xs, **settings):
    step = tf.function(lambda s, x: drift.page_hinkley(s, x, **settings))
    state, alarms = drift.fresh_state(), []
    for i, x in enumerate(xs):
        state, alarm = step(state, tf.constant(x, tf.float32))
        if bool(alarm):
            alarms.append(i)
    return alarms


def edge_pairs(n, flip_at=None, seed=0, ic=0.25, overlap=12):
    """(predictions, outcomes) of a model with a rank-IC-like edge `ic` on labels that overlap
    `overlap` samples (as 12-candle targets do), in units of the target spread; the edge
    flips sign at `flip_at`."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=n + overlap)
    noise = np.convolve(rng.normal(size=n + overlap), np.ones(overlap) / np.sqrt(overlap),
                        "same")
    sign = np.ones(n + overlap)
    if flip_at is not None:
        sign[flip_at:] = -1
    y = sign * ic * p + np.sqrt(1 - ic**2) * noise
    return p[:n].astype(np.float32), y[:n].astype(np.float32)


def edge_stream(n, flip_at=None, seed=0):
    """The watched value of each sample of `edge_pairs` (predictions of unit spread)."""
    p, y = edge_pairs(n, flip_at, seed)
    return [float(v) for v in drift.signal(tf.constant(p), tf.constant(y),
                                           tf.constant(1.0)).numpy()]


def test_the_learners_detector_equals_rivers_page_hinkley_alarm_for_alarm():
    """The detector as the per-candle step runs it (DriftResponse.matured, from the state a
    learner has after its first training, with the settings the config gives) raises its
    alarms on exactly the samples where River's PageHinkley, fed the values it watched, does;
    across a planted flip of the edge."""
    from synthetic import planted_candles, small_learner

    learner = small_learner()
    learner.fit(planted_candles(700, seed=2))
    st, adapt, s = learner.state, learner.programs.traceable.adapt, learner.settings
    out_scale = learner.nets.discovery.module.output_scale[0]
    scale = float(out_scale.numpy())
    matured = tf.function(adapt.matured)
    own, outcome = edge_pairs(3000, flip_at=1500, seed=3)
    watched, alarms = [], []
    for i, (p, y) in enumerate(zip(own, outcome, strict=True)):
        real = tf.constant([y * scale, 0.01, -0.01])
        if bool(matured(tf.constant([p * scale, 0.01, -0.01]), real, tf.constant(p))):
            alarms.append(i)
        # the value it watched: this sample, against the prediction spread it just updated
        watched.append(float(drift.signal(tf.constant(p), real[0] / out_scale,
                                           drift.prediction_spread(st.drift))))
    assert alarms and alarms == reference_page_hinkley(
        watched, delta=s.drift_delta, threshold=s.drift_threshold, alpha=s.drift_alpha,
        min_instances=s.drift_min_instances)
    assert int(st.drift_alarms.numpy()) == len(alarms)


def test_fires_soon_after_a_planted_flip():
    """An edge that flips sign is detected within 400 samples (under a day and a half of 5m candles)
    in each of 10 seeded streams."""
    delays = []
    for seed in range(10):
        alarms = reference_page_hinkley(edge_stream(2500, flip_at=1000, seed=seed), **SETTINGS)
        after = [a - 1000 for a in alarms if a >= 1000]
        assert after, f"seed {seed}: no alarm after the flip"
        delays.append(after[0])
    assert max(delays) <= 400, delays


def test_false_alarms_are_rare_on_a_stationary_stream():
    """Over 10 stationary streams of 20,000 samples (~70 days of 5m candles each) the
    detector raises at most one alarm per 10,000 samples. (The compiled detector equals the
    River's, tested above, so the long runs use River.)"""
    alarms = sum(len(reference_page_hinkley(edge_stream(20000, seed=100 + s), **SETTINGS))
                 for s in range(10))
    assert alarms <= 20, alarms


def test_the_detector_may_alarm_on_its_min_instances_th_value_and_not_before():
    """With min_instances=5, a jump on the 5th value raises the alarm on that value, as
    River's does; after an alarm the detector starts afresh and needs 5 values again."""
    settings = dict(delta=0.05, threshold=1.0, alpha=1.0, min_instances=5)
    twice = ([0.0] * 4 + [10.0]) * 2
    assert run_detector(twice, **settings) == reference_page_hinkley(twice, **settings) \
        == [4, 9]


def test_one_outlier_cannot_raise_an_alarm_on_its_own():
    """A single absurd sample (prediction and outcome 1000 spreads apart) is clipped to
    SIGNAL_CLIP, below the alarm threshold: the stream around it alarms exactly as without it."""
    calm = edge_stream(600, seed=5)
    outlier = float(drift.signal(tf.constant(1e3), tf.constant(-1e3), tf.constant(1.0)))
    assert outlier == drift.SIGNAL_CLIP < SETTINGS["threshold"]
    spiked = calm[:400] + [outlier] + calm[401:]
    assert reference_page_hinkley(spiked, **SETTINGS) == reference_page_hinkley(calm, **SETTINGS)


def _ring(pred, real, size):
    ring_p, ring_r = np.zeros((size, 3), np.float32), np.zeros((size, 3), np.float32)
    for i, (p, r) in enumerate(zip(pred, real, strict=True)):
        ring_p[i % size], ring_r[i % size] = p, r
    return ring_p, ring_r


@pytest.mark.parametrize("count", [2, 3, 50, 288, 500])
def test_scores_equal_a_direct_computation_over_the_last_matured(count):
    rng = np.random.default_rng(count)
    size = 288
    pred = rng.normal(size=(count, 3)).astype(np.float32)
    real = (0.3 * pred + rng.normal(size=(count, 3))).astype(np.float32)
    real[::7, 0] = 0.0  # no move: not counted by the hit-rate
    real[::5, 1:] = pred[::5, 1:]  # excursions on the band's edges count as inside it
    ring_p, ring_r = _ring(pred, real, size)
    n = tf.constant(count, tf.int64)
    got = scoreboard.scores(scoreboard.in_age_order(ring_p, n),
                            scoreboard.in_age_order(ring_r, n),
                            tf.constant(min(count, size), tf.int32)).numpy()
    want = scoreboard.reference_scores(pred[-size:], real[-size:])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)


def _learner_with_a_rolling_ic(ic, earlier=0, **config):
    """A small learner whose scoreboard ring is full of samples of rank correlation ~`ic`
    (after `earlier` samples it pushed out), with 100 samples' weight of wide statistics."""
    from synthetic import small_learner

    learner = small_learner(**config)
    st = learner.state
    n = st.scoreboard_size
    for y in np.random.default_rng(4).normal(size=earlier):
        st.push_board(tf.constant([-y, 0.01, -0.01], tf.float32),
                      tf.constant([y, 0.01, -0.01], tf.float32))
    rng = np.random.default_rng(3)
    real = rng.normal(size=n)
    noise = rng.normal(size=n)
    pred = ic * real + np.sqrt(1 - ic * ic) * noise  # rank correlation close to `ic`
    for p, y in zip(pred, real, strict=True):
        st.push_board(tf.constant([p, 0.01, -0.01], tf.float32),
                      tf.constant([y, 0.01, -0.01], tf.float32))
    learner.nets.discovery.module.stats_n.assign(100.0)
    return learner


def _one_quiet_sample(learner):
    learner.programs.traceable.adapt.matured(tf.constant([0.0, 0.01, -0.01]),
                                     tf.constant([0.0, 0.01, -0.01]), 0.0)


@pytest.mark.parametrize("ic, z, responds", [
    (-0.02, 0.5, False), (-0.6, 0.5, True), (-0.6, 3.0, True), (-0.6, 5.0, False),
    (-0.02, 0.0, True)])
def test_the_drift_response_acts_only_on_a_clearly_negative_rolling_ic(ic, z, responds):
    """An alarm is acted on (statistics forgotten, step boosted, the other pairs' statistics
    trusted only `forget`) only when the rolling IC is below 0 by drift_response_z standard
    errors (~sqrt(H / n)): a dip within the noise of a weak pair keeps every statistic, and
    the same IC responds or not as z asks."""
    learner = _learner_with_a_rolling_ic(ic, drift_response_z=z)
    st, adapt, m = learner.state, learner.programs.traceable.adapt, learner.nets.discovery.module
    n = st.scoreboard_size
    st.alarm_age.assign(0.0)  # an alarm just raised, not acted on yet
    rolling_ic = float(adapt.board()[0].numpy())
    noise_se = np.sqrt(int(st.horizon) / n)
    assert rolling_ic < 0 and (rolling_ic < -z * noise_se) == responds, (rolling_ic, noise_se)
    _one_quiet_sample(learner)
    assert int(st.drift_responses.numpy()) == int(responds)
    assert float(m.stats_n.numpy()) == pytest.approx(10.0 if responds else 100.0)
    assert float(st.boost.numpy()) == pytest.approx(1.0 if responds else 0.0, abs=1e-6)
    forget = learner.settings.forget
    assert float(st.pool_trust.numpy()) == pytest.approx(forget if responds else 1.0)


@pytest.mark.parametrize("z, responds", [(1.0, False), (0.9, True)])
def test_the_standard_error_counts_only_the_samples_in_the_scoreboard(z, responds):
    """After twice `scoreboard_size` matured samples the rolling IC (~-0.14) is still judged
    against the noise of the ring's samples (sqrt(H / size) ~ 0.144), not of all samples
    ever seen: at z = 1 it is within the noise, at z = 0.9 it is not."""
    learner = _learner_with_a_rolling_ic(-0.1, earlier=288, drift_response_z=z)
    st = learner.state
    assert st.scoreboard_size == 288 and int(st.board_count.numpy()) == 2 * 288
    st.alarm_age.assign(0.0)
    _one_quiet_sample(learner)
    assert int(st.drift_responses.numpy()) == int(responds)


@pytest.mark.parametrize("pending, responds", [(-1, True), (0, False)])
def test_an_alarm_not_acted_on_expires_after_a_scoreboard_of_samples(pending, responds):
    """An alarm pending for `scoreboard_size` matured samples may still be acted on with the
    next one; one sample later it has expired: a clearly negative IC then does not respond."""
    learner = _learner_with_a_rolling_ic(-0.6)
    st = learner.state
    st.alarm_age.assign(float(st.scoreboard_size + pending))
    _one_quiet_sample(learner)
    assert int(st.drift_responses.numpy()) == int(responds)


@pytest.mark.parametrize("spread", [float("nan"), float("inf"), -1e-6])
def test_a_spread_that_is_not_a_finite_mean_square_never_reaches_the_detector(spread):
    state = tf.Variable(tf.zeros([drift.SPREAD + 1]))
    with pytest.raises(ValueError, match="spread of the wide head's predictions"):
        drift.set_prediction_spread(state, spread)
    np.testing.assert_array_equal(state.numpy(), np.zeros(drift.SPREAD + 1))
    drift.set_prediction_spread(state, 0.25)
    assert state.numpy()[drift.SPREAD] == pytest.approx(0.25)
    drift.set_prediction_spread(state, 0.0)  # a head that predicts 0 everywhere: a valid spread
    assert state.numpy()[drift.SPREAD] == 0.0
