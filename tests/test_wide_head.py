"""The wide head's statistics (returns/ridge.py, returns/fitting.py) and their pool across
pairs (returns/pool.py): formulas against plain numpy, and time never leaking."""

import numpy as np
import pytest
import tensorflow as tf

from self_learning.returns import ridge
from self_learning.returns.moments import Moments
from self_learning.returns.pool import StatsPool

F = 5


def test_moments_and_solve_equal_the_numpy_definition():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(200, F)), rng.normal(size=200)
    w, d = rng.uniform(0.2, 1, 200), rng.uniform(0.5, 1, 200)
    a, b, n = (t.numpy() for t in ridge.weighted_moments(
        tf.constant(z, tf.float32), tf.constant(y, tf.float32), tf.constant(w, tf.float32),
        tf.constant(d, tf.float32)))
    np.testing.assert_allclose(a, (z * w[:, None]).T @ z, rtol=1e-4)
    np.testing.assert_allclose(b, (z * w[:, None]).T @ y, rtol=1e-4, atol=1e-4)
    assert n == pytest.approx(d.sum(), rel=1e-5)
    beta = ridge.solve(tf.constant(a), tf.constant(b), tf.constant(n), 0.3).numpy()
    np.testing.assert_allclose(beta, np.linalg.solve(a + 0.3 * n * np.eye(F), b), rtol=1e-3,
                               atol=1e-5)
    zero = ridge.solve(tf.zeros([F, F]), tf.zeros([F]), tf.constant(0.0), 0.3).numpy()
    np.testing.assert_array_equal(zero, np.zeros(F))


@pytest.mark.parametrize("residual,weight", [(0.0, 1.0), (0.4, 1.0), (0.5, 1.0), (1.0, 0.5),
                                             (-2.0, 0.25)])
def test_huber_weights_from_a_table(residual, weight):
    assert float(ridge.huber_weights(tf.constant(residual), 0.5)) == pytest.approx(weight)


def test_discount_halves_per_half_life():
    assert float(ridge.discount(600.0, 300.0)) == pytest.approx(0.25)


def test_irls_resists_outliers_that_pull_least_squares():
    """Huber IRLS recovers the planted coefficient where a few huge targets drag plain least
    squares far away."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=(600, 1))
    y = 0.5 * z[:, 0] + rng.normal(0, 0.3, 600)
    y[:12] = 40.0 * np.sign(z[:12, 0])
    ts = np.arange(600) * 300
    spec = ridge.WideSpec(1e12, 0.5, 1)
    robust = ridge.irls(z, y, ts, int(ts[-1]), spec, 1e-4, Moments.zeros(1))
    plain = np.linalg.lstsq(z, y, rcond=None)[0]
    assert abs(robust[0] - 0.5) < 0.1 < abs(plain[0] - 0.5)


def test_the_penalty_record_prefers_the_penalty_that_predicts_new_rows():
    gains, powers = np.array([1.0, 3.0, 2.0]), np.array([4.0, 4.0, 1.0])
    assert ridge.best_penalty(gains, powers, (0.1, 0.3, 1.0), 0.3) == 1.0  # 2/1 > 3/2 > 1/2
    assert ridge.best_penalty(np.zeros(3), np.zeros(3), (0.1, 0.3, 1.0), 0.3) == 0.3


def _stats(value, as_of):
    return Moments(np.eye(F, dtype=np.float32) * value, np.full(F, value, np.float32),
                   value, as_of)


def test_pool_sums_other_pairs_newest_snapshot_not_later_than_asked_discounted():
    pool = StatsPool(F, half_life_s=100.0, keep_history=True)
    pool.publish("A", _stats(1.0, 100))
    pool.publish("A", _stats(2.0, 300))
    pool.publish("B", _stats(4.0, 200))
    pool.publish("C", _stats(8.0, 100))
    got = pool.others("C", as_of=300)
    # A's snapshot at 300 (no discount) + B's at 200 discounted by one half-life; not C's own.
    assert got.n == pytest.approx(2.0 + 4.0 * 0.5)
    early = pool.others("C", as_of=250)  # A's newest at or before 250 is the one at 100
    assert early.n == pytest.approx(1.0 * 0.5**1.5 + 4.0 * 0.5**0.5)
    assert pool.others("A", as_of=50).n == 0.0  # nobody knew anything yet


def test_live_pool_keeps_only_the_newest_snapshot():
    pool = StatsPool(F, half_life_s=100.0, keep_history=False)
    pool.publish("A", _stats(1.0, 100))
    pool.publish("A", _stats(2.0, 300))
    assert pool.others("B", as_of=300).n == pytest.approx(2.0)
    assert pool.others("B", as_of=200).n == 0.0  # the newest is later than asked: unknown


def test_pool_refuses_statistics_of_another_shape():
    pool = StatsPool(F, half_life_s=100.0, keep_history=True)
    with pytest.raises(ValueError, match="3 features in a pool of 5"):
        pool.publish("A", Moments(np.eye(3), np.zeros(3), 1.0, 0))


def test_history_stays_within_its_budget_and_never_answers_with_a_later_snapshot():
    size = (F + 1) * F * 4
    pool = StatsPool(F, half_life_s=1e9, keep_history=True, budget_bytes=40 * size)
    for t in range(200):
        pool.publish("A", _stats(float(t + 1), t * 100))
    held = pool._snapshots["A"]
    assert len(held) <= 40 and held[-1].as_of == 19900  # the newest is always kept
    for as_of in range(0, 20000, 370):
        got = pool.others("B", as_of)
        assert got.n <= as_of // 100 + 1  # never a snapshot from after `as_of`
