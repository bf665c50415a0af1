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


def test_the_penalty_is_at_least_one_samples_worth_and_refine_reaches_solve():
    """Statistics holding less than one sample's weight (n < 1: a young challenger, forgotten
    statistics) are penalised as if they held one: solve(A + lam * max(n, 1) * I, b); the
    per-candle refine converges to the same coefficients from zero."""
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(8, F)), rng.normal(size=8)
    d = np.full(8, 0.03)  # n = 0.24
    a, b, n = ridge.weighted_moments(tf.constant(z, tf.float32), tf.constant(y, tf.float32),
                                     tf.constant(d, tf.float32), tf.constant(d, tf.float32))
    want = np.linalg.solve(a.numpy() + 0.3 * np.eye(F), b.numpy())
    np.testing.assert_allclose(ridge.solve(a, b, n, 0.3).numpy(), want, rtol=1e-4, atol=1e-6)
    followed = ridge.refine(a, b, n, 0.3, tf.zeros(F), 3 * F).numpy()
    np.testing.assert_allclose(followed, want, rtol=1e-3, atol=1e-5)
    # Conjugate gradients are exact in F steps, even on nearly collinear features, where
    # plain (preconditioned) gradient steps are still far off.
    base = rng.normal(size=(400, 1))
    z = base + 0.05 * rng.normal(size=(400, F))
    y = base[:, 0] + rng.normal(size=400)
    ones = tf.ones(400)
    a, b, n = ridge.weighted_moments(tf.constant(z, tf.float32), tf.constant(y, tf.float32),
                                     ones, ones)
    np.testing.assert_allclose(ridge.refine(a, b, n, 0.01, tf.zeros(F), F).numpy(),
                               ridge.solve(a, b, n, 0.01).numpy(), atol=1e-4)


def test_own_moments_weigh_each_row_by_its_age_and_huber_weight():
    """own_moments against its definition: d = 0.5 ** (age / half-life) with age = anchor -
    ts, w = d * min(1, delta / |y - z beta|); A = sum w z z', b = sum w z y, n = sum d."""
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(50, F)), rng.normal(0, 2, 50)
    ts = np.arange(50) * 100
    beta = rng.normal(0, 0.1, F)
    spec = ridge.WideSpec(half_life_s=1000.0, huber_delta=1.0, horizon=1)
    got = ridge.own_moments(z, y, ts, 4900, spec, beta)
    d = 0.5 ** ((4900 - ts) / 1000.0)
    w = d * np.minimum(1.0, 1.0 / np.abs(y - z @ beta))
    np.testing.assert_allclose(got.a, (z * w[:, None]).T @ z, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got.b, (z * w[:, None]).T @ y, rtol=1e-4, atol=1e-5)
    assert got.n == pytest.approx(d.sum(), rel=1e-5) and got.as_of == 4900


def test_irls_solves_the_rows_together_with_the_other_pairs_statistics():
    """The result is the fixed point of the Huber ridge over the rows plus `others`, which
    pull it: rows with slope +0.5, others holding 1000 samples of slope -0.5."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(600, 1))
    y = 0.5 * z[:, 0] + rng.normal(0, 0.1, 600)
    ts = np.arange(600) * 300
    spec = ridge.WideSpec(1e12, 0.5, 1)
    others = Moments(np.array([[1000.0]], np.float32), np.array([-500.0], np.float32), 1000.0)
    beta = ridge.irls(z, y, ts, int(ts[-1]), spec, 1e-4, others)
    again = ridge.solve_moments(ridge.own_moments(z, y, ts, int(ts[-1]), spec, beta) + others,
                                1e-4)
    np.testing.assert_allclose(beta, again, atol=1e-3)
    assert -0.3 < beta[0] < 0.0  # between the two slopes, nearer the heavier others


def test_the_penalty_record_scores_each_penalty_on_the_pooled_solution():
    """Per penalty: p = z @ solve(own + others, lam), gain p . y, power p . p."""
    rng = np.random.default_rng(5)
    zo, yo = rng.normal(size=(40, F)), rng.normal(size=40)
    ones = tf.ones(40)
    own = Moments(*(t.numpy() for t in ridge.weighted_moments(
        tf.constant(zo, tf.float32), tf.constant(yo, tf.float32), ones, ones)))
    others = Moments(np.eye(F, dtype=np.float32) * 30, np.full(F, 9.0, np.float32), 30.0)
    z, y = rng.normal(size=(10, F)), rng.normal(size=10)
    gains, powers = ridge.penalty_record(own, others, z, y, (0.1, 1.0))
    for i, lam in enumerate((0.1, 1.0)):
        total = own + others
        p = z @ np.linalg.solve(total.a + lam * total.n * np.eye(F), total.b)
        assert gains[i] == pytest.approx(p @ y, rel=1e-3)
        assert powers[i] == pytest.approx(p @ p, rel=1e-3)


def test_a_penalty_record_that_is_not_finite_is_an_error_not_evidence():
    """A NaN among the rows scored (or in the statistics) is refused before it reaches the
    decayed record, which would otherwise hold it for good and block every later save."""
    rng = np.random.default_rng(6)
    own = Moments(np.eye(F, dtype=np.float32) * 20, np.ones(F, np.float32), 20.0)
    others = Moments(np.eye(F, dtype=np.float32) * 30, np.full(F, 9.0, np.float32), 30.0)
    z, y = rng.normal(size=(10, F)).astype(np.float32), rng.normal(size=10).astype(np.float32)
    gains, powers = ridge.penalty_record(own, others, z, y, (0.1, 1.0))
    assert np.isfinite(gains).all() and np.isfinite(powers).all()
    y[3] = np.nan
    with pytest.raises(ValueError, match="ridge penalties holds a NaN or inf"):
        ridge.penalty_record(own, others, z, y, (0.1, 1.0))


def test_the_best_penalty_is_scored_by_gain_over_root_power():
    """gain / sqrt(power) (a correlation), not gain / power: 3/sqrt(4) = 1.5 beats 1/1."""
    assert ridge.best_penalty(np.array([1.0, 3.0]), np.array([1.0, 4.0]), (0.1, 1.0), 0.3) == 1.0


def test_moments_add_up_and_move_in_time_by_the_discount():
    m = _stats(1.0, 100)
    total = m + _stats(2.0, 300)
    assert total.n == 3.0 and total.as_of == 100
    np.testing.assert_array_equal(total.b, np.full(F, 3.0))
    later = m.discounted(100, 300, 200.0)  # one half-life later: half of everything
    assert (later.n, later.as_of, later.b[0], later.a[0, 0]) == (0.5, 300, 0.5, 0.5)
    assert m.discounted(300, 100, 200.0).n == 2.0  # valued earlier: grown
    assert m.at(50, 200.0).n == 1.0 and m.at(500, 200.0).n == 0.25  # never grown


def test_a_snapshot_republished_at_the_same_time_replaces_the_earlier_one():
    pool = StatsPool(F, half_life_s=100.0, keep_history=True)
    pool.publish("A", _stats(1.0, 100))
    pool.publish("A", _stats(5.0, 100))
    assert pool.others("B", as_of=100).n == 5.0


def test_change_points_are_other_pairs_snapshot_times_after_then_up_to():
    pool = StatsPool(F, half_life_s=100.0, keep_history=True)
    for t in (100, 200, 300, 400):
        pool.publish("A", _stats(1.0, t))
    pool.publish("B", _stats(1.0, 250))
    assert pool.change_points("C", 100, 300) == [200, 250, 300]
    assert pool.change_points("A", 0, 500) == [250]  # its own snapshots change nothing


def test_thinning_keeps_the_newer_half_of_a_history_whole():
    """Past its budget, every other snapshot of the older half goes: a pair stepping later
    candles still reads each of the newer snapshots at its own time."""
    size = (F + 1) * F * 4
    pool = StatsPool(F, half_life_s=1e12, keep_history=True, budget_bytes=8 * size)
    for t in range(9):
        pool.publish("A", _stats(float(t + 1), t * 100))
    for t in range(4, 9):
        assert pool.others("B", t * 100).n == pytest.approx(t + 1.0)
