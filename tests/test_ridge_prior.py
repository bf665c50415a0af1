"""`ridge_prior_candles`: the wide head's ridge penalty is a prior worth at least n0 samples,
lam * max(n, n0) (returns/ridge.py `penalty`). A head holding fewer than n0 samples' weight (a
drift response's young challenger) is shrunk as if it held n0, in the per-candle step and at
a training; a head holding more is the plain ridge; 0 (the default) is today's lam * max(n, 1)."""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.candles.samples import Candles
from self_learning.config import ConfigError, parse_config
from self_learning.learning.learner import PairLearner
from self_learning.learning.settings import LearningSettings
from self_learning.returns import ridge
from self_learning.returns.moments import Moments

F, LAM, PRIOR = 5, 0.3, 300
START = 1500


def _system(samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(samples, F))
    y = 0.3 * z[:, 0] + rng.normal(size=samples)
    return (z.T @ z).astype(np.float32), (z.T @ y).astype(np.float32), float(samples)


def test_the_penalty_is_a_prior_of_n0_samples_below_n0_and_the_plain_ridge_above():
    a, b, n = _system(20)
    young = ridge.solve(tf.constant(a), tf.constant(b), tf.constant(n), LAM, PRIOR).numpy()
    np.testing.assert_allclose(young, np.linalg.solve(a + LAM * PRIOR * np.eye(F), b),
                               rtol=1e-4, atol=1e-6)
    off = ridge.solve(tf.constant(a), tf.constant(b), tf.constant(n), LAM).numpy()
    assert np.linalg.norm(young) < 0.5 * np.linalg.norm(off)  # shrunk towards 0
    a, b, n = _system(800)
    old = ridge.solve(tf.constant(a), tf.constant(b), tf.constant(n), LAM, PRIOR).numpy()
    np.testing.assert_array_equal(
        old, ridge.solve(tf.constant(a), tf.constant(b), tf.constant(n), LAM).numpy())


def test_the_per_candle_refinement_converges_to_the_solve_with_the_prior():
    a, b, n = (tf.constant(x) for x in _system(20))
    beta = ridge.refine(a, b, n, LAM, tf.zeros([F]), 3 * F, PRIOR).numpy()
    np.testing.assert_allclose(beta, ridge.solve(a, b, n, LAM, PRIOR).numpy(), rtol=1e-3,
                               atol=1e-6)


def test_numpy_moments_and_the_penalty_record_take_the_prior():
    a, b, n = _system(20)
    m = Moments(a, b, n)
    np.testing.assert_allclose(ridge.solve_moments(m, LAM, PRIOR),
                               np.linalg.solve(a + LAM * PRIOR * np.eye(F), b), rtol=1e-4,
                               atol=1e-6)
    z, y = np.eye(F, dtype=np.float32), np.ones(F, np.float32)
    gains, _ = ridge.penalty_record(m, Moments.zeros(F), z, y, (LAM,), PRIOR)
    assert gains[0] == pytest.approx(float(ridge.solve_moments(m, LAM, PRIOR).sum()), rel=1e-4)


def test_irls_on_few_rows_is_shrunk_by_the_prior():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(20, F))
    y = 0.5 * z[:, 0] + rng.normal(0, 0.3, 20)
    ts = np.arange(20) * 300
    plain = ridge.irls(z, y, ts, int(ts[-1]), ridge.WideSpec(1e12, 0.5, 1), LAM,
                       Moments.zeros(F))
    held = ridge.irls(z, y, ts, int(ts[-1]), ridge.WideSpec(1e12, 0.5, 1, PRIOR), LAM,
                      Moments.zeros(F))
    assert np.linalg.norm(held) < 0.2 * np.linalg.norm(plain)


@pytest.mark.parametrize("value,match", [
    (-1, r"freqai\.self_learning\.ridge_prior_candles must be between"),
    (2.5, r"freqai\.self_learning\.ridge_prior_candles must be a whole number"),
])
def test_a_bad_prior_names_its_key(value, match):
    with pytest.raises(ConfigError, match=match):
        parse_config({"self_learning": {"ridge_prior_candles": value},
                      "feature_parameters": {"label_period_candles": 4}})


@pytest.mark.parametrize("candles,prior_n", [(0, 1.0), (1, 1.0), (288, 288.0)])
def test_the_prior_is_off_by_default_and_counted_in_samples(candles, prior_n):
    settings = LearningSettings.from_config(small_config(ridge_prior_candles=candles),
                                            TIMEFRAME_S)
    assert settings.ridge_prior_n == prior_n
    assert LearningSettings.from_config(small_config(), TIMEFRAME_S).ridge_prior_n == 1.0


@pytest.fixture(scope="module")
def market():
    c = planted_candles(2400, seed=11, strength=0.6)
    features = c.features.copy()
    features[START:, 0] *= -1.0  # the signal reads the other way from START on
    return Candles(c.ts, c.ohlcv, features)


def _fitted(market, **overrides) -> PairLearner:
    deterministic()
    learner = PairLearner(small_config(**overrides), FEATURES, TIMEFRAME_S)
    learner.fit(market.rows(slice(0, START)))
    return learner


def _totals(learner, ts: int):
    """(A, b, n) the challenger solves at candle `ts` (no pool in these tests)."""
    return learner.programs.p.ridge.totals(tf.constant(ts, tf.int64), Moments.zeros(F, ts))


def test_a_young_challenger_is_held_by_the_prior_and_an_old_head_is_not(market):
    plain, held = _fitted(market), _fitted(market, ridge_prior_candles=PRIOR)
    p, q = plain.nets.discovery.module, held.nets.discovery.module
    assert float(q.stats_n.numpy()) > PRIOR  # a trained head: the plain ridge, bit for bit
    np.testing.assert_array_equal(q.wide_beta.numpy(), p.wide_beta.numpy())
    for learner in (plain, held):
        learner.programs.p.adapt._respond()  # forgets all but drift_forget: a young head
        learner.observe(market.rows(slice(START, START + 120)))
    assert float(q.stats_n.numpy() + q.recent_n.numpy()) < PRIOR
    # The per-candle step follows the solve with the prior, not the plain one.
    a, b, n = _totals(held, int(market.ts[START + 119]))
    lam = held.nets.discovery.module.ridge_lambda
    with_prior = ridge.solve(a, b, n, lam, PRIOR).numpy()
    without = ridge.solve(a, b, n, lam).numpy()
    assert np.linalg.norm(with_prior) < 0.8 * np.linalg.norm(without)
    np.testing.assert_allclose(q.wide_beta.numpy(), with_prior, rtol=0.02, atol=1e-3)
    # A training solves the young challenger with the prior too.
    report = held.fit(market.rows(slice(START + 120 - 1000, START + 120)))
    assert report.challenge == "kept"  # the challenger learned the flip
    kept = Moments(q.stats_a.numpy(), q.stats_b.numpy(), float(q.stats_n.numpy()))
    assert kept.n < PRIOR
    np.testing.assert_allclose(
        q.wide_beta.numpy(),
        ridge.solve_moments(kept, float(q.ridge_lambda.numpy()), PRIOR), rtol=1e-4,
        atol=1e-6)
