"""The pure parts of benchmarks/edge_study.py: scoring (edge_scoring.py), the learners'
causality (edge_learners.py), the momentum group's formula (edge_features.py), the expert
follow-up's scale and weights (edge_expert.py) and the fixed blend (edge_blend.py). No data
files, no TensorFlow."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import edge_blend as eb  # noqa: E402
import edge_expert as ex  # noqa: E402
import edge_features as ef  # noqa: E402
import edge_learners as el  # noqa: E402
import edge_scoring as es  # noqa: E402

from self_learning.reports import evaluation as ev  # noqa: E402


def test_leave_one_day_out_replicates_are_exact_spearman():
    rng = np.random.default_rng(0)
    n, day = 600, np.arange(600) // 60
    pred = rng.normal(size=(2, n))
    target = 0.3 * pred + rng.normal(size=(2, n))
    score = es.window_score(pred, target, day, np.unique(day))
    for k in (0, 4, 9):
        keep = day != k
        brute = np.mean([es.spearman(pred[i][keep], target[i][keep]) for i in range(2)])
        assert score.replicates[k] == pytest.approx(brute, abs=1e-12)
    assert score.ic == pytest.approx(np.mean([es.spearman(p, t) for p, t in
                                              zip(pred, target, strict=True)]))


def test_leave_one_day_out_is_exact_with_ties_and_ranks_ties_as_the_evaluation_does():
    """Tied predictions (an expert that predicts 0 on many rows) get their average rank, so
    the IC does not depend on the rows' order, and each day's replicate equals the Spearman
    of the rows left."""
    rng = np.random.default_rng(5)
    n, day = 480, np.arange(480) // 48
    target = rng.normal(size=(1, n))
    pred = np.where(rng.random((1, n)) < 0.6, 0.0, target + rng.normal(size=(1, n)))
    target[0, ::7] = 0.25  # ties on the target side too
    score = es.window_score(pred, target, day, np.unique(day))
    assert score.ic == pytest.approx(ev.spearman_ic(pred[0], target[0]), abs=1e-12)
    for k in range(10):
        keep = day != k
        assert score.replicates[k] == pytest.approx(
            ev.spearman_ic(pred[0][keep], target[0][keep]), abs=1e-12)
    order = rng.permutation(n)  # the same rows in another order: the same IC
    assert es.spearman(pred[0][order], target[0][order]) == pytest.approx(score.ic, abs=1e-12)


def test_window_score_ignores_other_days_and_missing_rows():
    rng = np.random.default_rng(1)
    day = np.arange(400) // 40
    pred, target = rng.normal(size=(1, 400)), rng.normal(size=(1, 400))
    pred[0, 5] = np.nan
    score = es.window_score(pred, target, day, np.arange(5))
    keep = (day < 5) & np.isfinite(pred[0])
    assert score.ic == pytest.approx(es.spearman(pred[0][keep], target[0][keep]))
    assert len(score.replicates) == 5


def test_jackknife_se_and_paired_difference():
    reps = np.array([1.0, 2.0, 3.0])
    # sqrt((g - 1) / g * sum (r - mean)^2) = sqrt(2 / 3 * 2)
    assert es.jackknife_se(reps) == pytest.approx(np.sqrt(4 / 3))
    a = es.Score(0.5, np.array([0.4, 0.5, 0.6]))
    b = es.Score(0.2, np.array([0.1, 0.2, 0.3]))
    diff = a.minus(b)
    assert diff.ic == pytest.approx(0.3) and diff.se == pytest.approx(0.0)


def test_numpy_spearman_and_jackknife_se_agree_with_the_evaluation_module():
    """edge_scoring's numpy IC and jackknife standard error are a fast second copy of
    self_learning.reports.evaluation's (spearman_ic, jackknife); on continuous (tie-free)
    rows they must give the same numbers."""
    rng = np.random.default_rng(3)
    pred = rng.normal(size=500)
    target = 0.2 * pred + rng.normal(size=500)
    assert es.spearman(pred, target) == pytest.approx(ev.spearman_ic(pred, target), abs=1e-12)
    deleted = rng.normal(0.05, 0.01, size=12)
    assert es.jackknife_se(deleted) == pytest.approx(ev.jackknife(0.05, deleted).se, abs=1e-15)


def test_trade_readout_counts_entries_above_the_fee():
    pred = np.array([[0.001, 0.003, 0.004, np.nan]])
    fwd = np.array([[0.05, 0.01, -0.002, 0.01]])
    out = es.trade_readout(pred, fwd, np.ones(4, bool), fee=0.002, weeks=2.0)
    assert out["entries_per_week"] == 1.0
    assert out["mean_net"] == pytest.approx((0.01 - 0.002) / 2 - 0.002)


def _panel(seed=3, pairs=2, n=900, f=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(pairs, n, f))
    y = 0.5 * x[:, :, 0] + rng.normal(size=(pairs, n))
    return x, y


def test_walk_forward_never_trains_on_labels_of_its_own_period():
    x, y = _panel()
    horizon, window, period = 5, 300, 100
    d = el.build_design(x, {"raw": y}, 300, window, period, horizon)
    base = el.ridge_predictions(d, np.arange(3), "raw", True, 0.3)
    leaked = y.copy()
    leaked[:, 600 - horizon:] = 100.0  # labels not known before the period at row 600
    d2 = el.build_design(x, {"raw": leaked}, 300, window, period, horizon)
    again = el.ridge_predictions(d2, np.arange(3), "raw", True, 0.3)
    assert np.allclose(base[:, :700], again[:, :700], equal_nan=True)
    assert not np.allclose(base[:, 700:], again[:, 700:])


def test_online_learners_only_learn_matured_labels():
    x, y = _panel()
    horizon, block = 5, 10
    d = el.build_design(x, {"raw": y}, 300, 300, 100, horizon)
    y_sc = el.scaled_target(d, y, "raw")
    base = el.online_predictions(d, np.arange(3), y_sc, horizon, (20.0, 200.0), block, 0.3)
    changed = y_sc.copy()
    changed[:, 500 - horizon:] = 3.0
    again = el.online_predictions(d, np.arange(3), changed, horizon, (20.0, 200.0), block, 0.3)
    # The block starting at row 500 learns rows < 500 - H only: its labels were all known.
    assert np.allclose(base[:, :, :510], again[:, :, :510], equal_nan=True)
    assert not np.allclose(base[:, :, 510:], again[:, :, 510:])
    assert np.isfinite(base[:, :, 300:]).all()


def test_mixture_moves_to_the_learner_with_the_smaller_losses():
    rng = np.random.default_rng(4)
    y = rng.normal(size=(2, 400))
    preds = np.stack([y + 0.1 * rng.normal(size=y.shape), rng.normal(size=y.shape)])
    mix, weights = el.mixture(preds, y, horizon=3, eta=1.0, share=0.01, block=10, first=0)
    assert weights[-1][0] > 0.98
    assert weights[0] == pytest.approx([0.5, 0.5])  # nothing matured before the first block
    assert np.corrcoef(mix[:, 200:].ravel(), y[:, 200:].ravel())[0, 1] > 0.9


def test_prior_ridge_shrinks_toward_the_prior_instead_of_zero():
    """solve(A + lam n I, b + lam n prior): a small penalty gives the learned coefficients, a
    large one the prior, no prior the ordinary ridge; nothing learned -> the prior."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(500, 3))
    y = z @ np.array([0.5, 0.0, -0.2]) + rng.normal(size=500)
    a, b, n = z.T @ z, z.T @ y, 500.0
    prior = np.array([0.0, -0.03, 0.0])
    learned = np.linalg.solve(a, b)
    assert np.allclose(el.solve(a, b, n, 1e-9, prior), learned, atol=1e-6)
    assert np.allclose(el.solve(a, b, n, 1e9, prior), prior, atol=1e-6)
    assert np.allclose(el.solve(a, b, n, 0.3, None), el.solve(a, b, n, 0.3, np.zeros(3)))
    assert np.allclose(el.solve(a, b, 0.0, 0.3, prior), prior)


def test_penalty_record_serves_what_predicted_matured_rows_best():
    """Each period serves the candidate whose earlier predictions correlated best with the
    outcomes whose labels had matured; period 0 serves the default; a label that matures
    only after a period starts cannot change that period's choice."""
    x, y = _panel(seed=4, pairs=2, n=900, f=1)
    d = el.build_design(x, {"raw": y}, 300, 300, 100, 5)
    preds = np.stack([-y, y])  # candidate 1 predicts perfectly, candidate 0 backwards
    served, chosen = el.record_choice(d, preds, y, 5, 1.0, default=0)
    assert (chosen[0] == 0).all() and (chosen[1:] == 1).all()
    assert np.allclose(served[:, 400:], y[:, 400:])
    late = y.copy()
    late[:, 500 - 5: 500] *= -1000  # labels that mature after period 2 starts (row 500)
    _, again = el.record_choice(d, preds, late, 5, 1.0, default=0)
    assert (again[:3] == chosen[:3]).all()


def _returns(seed=6, pairs=3, n=60):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2025-01-01", periods=n, freq="h", tz="UTC")
    return [pd.Series(rng.normal(0, 0.01, n), index=index) for _ in range(pairs)]


def test_momentum_is_trailing_returns_of_pair_basket_btc_relative_and_rank():
    """Over each window: the pair's, the basket's and BTC's summed log returns of the last w
    candles, the pair's minus the basket's; the pair's rank among the pairs by its summed
    return over the rank window (0 lowest, 1 highest). Row t uses rows <= t only."""
    rets = _returns()
    basket = pd.concat(rets, axis=1).mean(axis=1)
    cols = ef.momentum(rets, basket, rets[0], (3, 5), rank_window=5)
    t = 30
    for p, r in enumerate(rets):
        own = {w: r.iloc[t - w + 1: t + 1].sum() for w in (3, 5)}
        base = {w: basket.iloc[t - w + 1: t + 1].sum() for w in (3, 5)}
        for w in (3, 5):
            assert cols[p][f"mom_pair_ret_{w}"].iloc[t] == pytest.approx(own[w])
            assert cols[p][f"mom_basket_ret_{w}"].iloc[t] == pytest.approx(base[w])
            assert cols[p][f"mom_btc_ret_{w}"].iloc[t] == pytest.approx(
                rets[0].iloc[t - w + 1: t + 1].sum())
            assert cols[p][f"mom_rel_ret_{w}"].iloc[t] == pytest.approx(own[w] - base[w])
        assert np.isnan(cols[p]["mom_pair_ret_5"].iloc[3])  # not 5 candles yet
    sums = [r.iloc[t - 4: t + 1].sum() for r in rets]
    order = np.argsort(sums)
    assert [cols[p]["mom_rank_5"].iloc[t] for p in order] == [0.0, 0.5, 1.0]
    assert not any(name.startswith(("btc_", "basket_", "rel_ret_")) for name in cols[0])
    future = [r.copy() for r in rets]
    future[1].iloc[t + 1:] += 0.05
    moved = ef.momentum(future, pd.concat(future, axis=1).mean(axis=1), future[0], (3, 5), 5)
    for name in cols[0]:
        for p in range(3):
            pd.testing.assert_series_equal(moved[p][name].iloc[: t + 1],
                                           cols[p][name].iloc[: t + 1])


def test_rank_gauss_maps_rows_through_the_training_quantiles_only():
    """A prediction row's value v -> ndtri((#train < v + #train <= v) / 2m), kept inside
    [0.5/m, 1 - 0.5/m]; training values get their own mid-rank quantile; other prediction
    rows (however extreme) move nothing; NaN stays NaN."""
    from scipy.special import ndtri

    train = np.array([[3.0], [1.0], [2.0], [4.0]])
    rows = np.array([[2.5], [0.0], [9.0], [2.0], [np.nan]])
    zt, zr = el.rank_gauss(train, rows)
    assert np.allclose(zt[:, 0], ndtri(np.array([5, 1, 3, 7]) / 8))
    assert np.allclose(zr[:4, 0], ndtri(np.array([4 / 8, 1 / 8, 7 / 8, 3 / 8])))
    assert np.isnan(zr[4, 0])
    moved = rows.copy()
    moved[2, 0] = -100.0  # another prediction row changes: row 0's quantile must not
    _, again = el.rank_gauss(train, moved)
    assert again[0, 0] == zr[0, 0] and again[3, 0] == zr[3, 0]


def test_rank_gauss_design_never_sees_its_own_period_in_the_quantiles():
    """In the walk-forward design, period k's rows are mapped with period k's training
    window: changing the features of later rows (here the second half of the period starting
    at row 600) leaves every earlier row's units, also the same period's, and every earlier
    period's statistics unchanged."""
    x, y = _panel(seed=7)
    d = el.build_design(x, {"raw": y}, 300, 300, 100, 5, "rank_gauss")
    moved = x.copy()
    moved[:, 650:] *= 50.0
    d2 = el.build_design(moved, {"raw": y}, 300, 300, 100, 5, "rank_gauss")
    assert np.array_equal(d.z[:, :650], d2.z[:, :650], equal_nan=True)
    assert np.allclose(d.a[:3], d2.a[:3]) and np.allclose(d.b["raw"][:3], d2.b["raw"][:3])
    assert np.isfinite(d.z[:, 300:]).all() and np.abs(d.z[:, 300:]).max() < 3.0


def test_averaged_label_is_the_mean_of_standardised_winsorised_targets():
    rng = np.random.default_rng(8)
    short, long = rng.normal(0, 2.0, 400), rng.normal(0, 5.0, 400)
    long[0] = 1e3  # winsorised at +-CLIP in its own units
    avg, scale = el.averaged_label([short, long])
    expect = (np.clip(short / short.std(), -el.CLIP, el.CLIP)
              + np.clip(long / long.std(), -el.CLIP, el.CLIP)) / 2
    assert np.allclose(avg, expect) and scale == pytest.approx(short.std())


def test_label_averaging_purges_the_longest_horizon():
    """A period trains only on rows whose labels of every horizon were known before it
    starts: the 2H label of row s - 2H .. s - 1 is not known at s, so changing it must not
    change that period's predictions; the H-target design (purged by H) would see it."""
    x, y = _panel(seed=9)
    labels = {2: y, 5: np.roll(y, -1, axis=1), 10: np.roll(y, -3, axis=1)}
    d = el.averaged_design(x, labels, 5, 300, 300, 100)
    base = el.ridge_predictions(d, np.arange(3), "avg", True, 0.3)
    late = {**labels, 10: labels[10].copy()}
    late[10][:, 600 - 10:] = 100.0  # 2H labels not known before the period at row 600
    again = el.ridge_predictions(el.averaged_design(x, late, 5, 300, 300, 100),
                                 np.arange(3), "avg", True, 0.3)
    assert np.allclose(base[:, :700], again[:, :700], equal_nan=True)
    assert not np.allclose(base[:, 700:], again[:, 700:])
    # read in the evaluated horizon's spread over the first window's rows (purged by 2H)
    assert np.allclose(d.scale["avg"][0], [labels[5][p, 0:290].std() for p in range(2)])


def _yardstick_panel(seed=7, pairs=3, n=1200, coef=0.5):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(pairs, n))
    return v, coef * v + rng.normal(size=(pairs, n))


def test_yard_scale_is_the_pooled_least_squares_coefficient_of_matured_rows():
    v, y = _yardstick_panel()
    starts, horizon, window = np.arange(300, 1200, 100), 5, 200
    c = ex.yard_scale(v, y, starts, horizon, window)
    for k, s in enumerate(starts):
        rows = slice(s - horizon - window, s - horizon)
        assert c[k] == pytest.approx((v[:, rows] * y[:, rows]).sum() / (v[:, rows] ** 2).sum())
    # A label not matured before period k (row >= s_k - H), or older than its window, is
    # never in c_k.
    late, early = y.copy(), y.copy()
    late[:, 700 - horizon:] = 50 * v[:, 700 - horizon:]
    early[:, : 700 - horizon - window] = 50 * v[:, : 700 - horizon - window]
    k = int(np.flatnonzero(starts == 700)[0])
    assert np.allclose(ex.yard_scale(v, late, starts, horizon, window)[: k + 1], c[: k + 1])
    assert not np.allclose(ex.yard_scale(v, late, starts, horizon, window)[k + 1:], c[k + 1:])
    assert np.allclose(ex.yard_scale(v, early, starts, horizon, window)[k:], c[k:])


def test_yard_scale_switches_a_wrong_signed_yardstick_off_and_skips_missing_rows():
    v, y = _yardstick_panel(coef=-0.5)
    starts = np.arange(300, 1200, 100)
    assert (ex.yard_scale(v, y, starts, 5, 200) == 0).all()
    v, y = _yardstick_panel(coef=2.0)
    y[0, ::3] = np.nan
    c = ex.yard_scale(v, y, starts, 5, 200)
    assert c == pytest.approx(np.full(len(starts), 2.0), abs=0.15)
    assert ex.yard_scale(v, y, np.array([3]), 5, 200) == pytest.approx([0.0])  # no rows


def test_yard_expert_is_in_the_ridges_units_and_experts_are_aligned():
    x, y = _panel()
    d = el.build_design(x, {"raw": y}, 300, 300, 100, 5)
    v, c = x[:, :, 1], np.linspace(0.5, 1.5, len(d.starts))
    ye = ex.yard_expert(d, v, c)
    k = d.period_of_row[400]
    assert ye[:, 400] * d.scale["raw"][k] == pytest.approx(c[k] * v[:, 400])
    assert np.isnan(ye[:, :300]).all()
    experts = np.stack([np.ones((2, 5)), np.arange(10.0).reshape(2, 5)])
    experts[0, 1, 2] = np.nan
    out = ex.aligned(experts)
    assert np.isnan(out[:, 1, 2]).all() and np.isfinite(np.delete(out[:, 1], 2, axis=1)).all()


def test_ic_weights_follow_the_expert_that_ranked_matured_rows():
    rng = np.random.default_rng(8)
    y = rng.normal(size=(2, 1000))
    noise = rng.normal(size=y.shape)
    starts, horizon = np.arange(200, 1000, 100), 5
    w, sd = ex.ic_weights(np.stack([y + noise, -y + noise]), y, starts, horizon, 300)
    assert w[0] == pytest.approx([0.5, 0.5]) and sd[0] == pytest.approx([1.0, 1.0])
    assert (w[1:, 0] == 1.0).all() and (w[1:, 1] == 0.0).all()  # a negative IC weighs 0
    assert sd[1:] == pytest.approx(np.full((len(starts) - 1, 2), np.sqrt(2)), rel=0.2)
    experts = np.stack([y + noise, y + 3 * rng.normal(size=y.shape)])
    w, _ = ex.ic_weights(experts, y, starts, horizon, 300)
    assert (w[1:, 0] > w[1:, 1]).all() and (w[1:, 1] > 0).all()
    flipped = y.copy()
    flipped[:, 600 - horizon:] *= -1  # labels not matured before row 600
    again, _ = ex.ic_weights(experts, flipped, starts, horizon, 300)
    k = int(np.flatnonzero(starts == 600)[0])
    assert np.array_equal(again[: k + 1], w[: k + 1]) and not np.array_equal(again, w)


def test_ic_mixture_weights_experts_by_their_share_of_the_spread():
    x, y = _panel()
    d = el.build_design(x, {"raw": y}, 300, 300, 100, 5)
    experts = np.stack([x[:, :, 0], 3 * x[:, :, 1]])
    k = len(d.starts)
    one = ex.ic_mixture(d, experts, np.tile([1.0, 0.0], (k, 1)), np.tile([2.0, 3.0], (k, 1)))
    assert np.allclose(one[:, 300:], experts[0, :, 300:]) and np.isnan(one[:, :300]).all()
    half = ex.ic_mixture(d, experts, np.tile([0.5, 0.5], (k, 1)), np.tile([1.0, 3.0], (k, 1)))
    assert np.allclose(half[:, 300:], (0.5 * experts[0] + 0.5 * experts[1] / 3)[:, 300:] * 2.0)


def test_fixed_blend_is_equal_weights_on_each_experts_trailing_scale_and_distribution():
    rng = np.random.default_rng(9)
    experts = np.stack([rng.normal(size=(2, 1200)), 5 * rng.normal(size=(2, 1200))])
    y = rng.normal(size=(2, 1200))
    starts, horizon, window = np.arange(300, 1200, 100), 5, 200
    out = eb.blends(experts, y, starts, horizon, window)
    z, u = out[eb.ZEQ], out[eb.UEQ]
    assert np.isnan(z[:, :300]).all() and np.isnan(u[:, :300]).all()
    # The first period has no record: the plain average.
    assert np.allclose(z[:, 300:400], experts[:, :, 300:400].mean(axis=0))
    assert np.allclose(u[:, 300:400], z[:, 300:400])
    rec = slice(700 - horizon - window, 700 - horizon)
    sd = np.sqrt((experts[:, :, rec] ** 2).mean(axis=(1, 2)))
    now = experts[:, :, 700:800]
    assert np.allclose(z[:, 700:800], (now[0] / sd[0] + now[1] / sd[1]) / 2 * sd[0])
    frac = [(experts[j, :, rec].ravel()[None, None, :] <= now[j][:, :, None]).mean(axis=2)
            for j in range(2)]
    assert np.allclose(u[:, 700:800], (frac[0] + frac[1]) / 2 - 0.5)
    assert (np.abs(u[:, 400:]) <= 0.5).all()
    # Rows at or after s_k - H (and so period k's own rows) are never in period k's record.
    late = experts.copy()
    late[1, :, 700 - horizon:] *= 10
    again = eb.blends(late, y, starts, horizon, window)
    for name in (eb.ZEQ, eb.UEQ):
        assert np.allclose(again[name][:, :700 - horizon], out[name][:, :700 - horizon],
                           equal_nan=True)
        assert not np.allclose(again[name][:, 800:], out[name][:, 800:])
    far = experts.copy()
    far[1, :, 700:] *= 10  # scales the yardstick from period 700 on: its record follows later
    assert np.allclose(eb.blends(far, y, starts, horizon, window)[eb.ZEQ][:, 700:800],
                       (now[0] / sd[0] + 10 * now[1] / sd[1]) / 2 * sd[0])
