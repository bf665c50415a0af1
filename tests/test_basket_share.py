"""self_learning.reports.basket: the split of a whitelist's edge into the basket's timing and
the pairs' ranking, on panels whose edge is planted in one part only, and on one without any."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from self_learning.reports import basket
from self_learning.reports.evaluation import spearman_ic

PAIRS = ["A/USDT", "B/USDT", "C/USDT", "D/USDT", "E/USDT", "F/USDT"]
DATES = pd.date_range("2025-01-01", periods=24 * 30, freq="h", tz="UTC")


def planted(timing: float, ranking: float, seed: int = 0) -> basket.Panel:
    """Targets: a common move plus each pair's own move (summing to 0 over the pairs).
    Predictions: `timing` times the common move plus `ranking` times each pair's own, plus
    noise."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((len(DATES), 1))
    own = rng.standard_normal((len(DATES), len(PAIRS)))
    own -= own.mean(axis=1, keepdims=True)
    noise = rng.standard_normal((len(DATES), len(PAIRS)))
    target = common + own
    prediction = timing * common + ranking * own + noise
    frame = lambda a: pd.DataFrame(a, index=DATES, columns=PAIRS)  # noqa: E731
    return basket.Panel(frame(prediction), frame(target))


def rows_of(p: basket.Panel) -> dict[str, pd.DataFrame]:
    """load_rows' shape: per pair date, &-s_close, target, usable; the first pair's row 5 is
    not usable and the second pair's target at row 9 is not known."""
    out = {}
    for i, pair in enumerate(PAIRS):
        usable = np.ones(len(DATES), dtype=bool)
        usable[5] = i != 0
        target = p.target[pair].to_numpy().copy()
        target[9] = np.nan if i == 1 else target[9]
        out[pair] = pd.DataFrame({"date": DATES, "&-s_close": p.prediction[pair].to_numpy(),
                                  "target": target, "usable": usable})
    return out


def covers_zero(e) -> bool:
    return e.low < 0 < e.high


def test_an_edge_in_the_common_move_is_timing_not_ranking():
    p = planted(timing=1.0, ranking=0.0)
    timing = basket.timing_ic(p)
    assert timing.low > 0.3
    assert timing.plain == pytest.approx(spearman_ic(p.prediction.mean(axis=1),
                                                     p.target.mean(axis=1)))
    assert covers_zero(basket.ranking_ic(p))
    assert basket.basket_share(p.prediction) == pytest.approx((1 + 1 / 6) / 2, abs=0.05)


def test_an_edge_in_the_pairs_own_moves_is_ranking_not_timing():
    p = planted(timing=0.0, ranking=1.0)
    assert basket.ranking_ic(p).low > 0.3
    assert covers_zero(basket.timing_ic(p))
    assert basket.basket_share(p.prediction) == pytest.approx((1 / 6) / (5 / 6 + 1), abs=0.03)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_an_edge_every_interval_covers_zero(seed):
    p = planted(timing=0.0, ranking=0.0, seed=seed)
    figures = [basket.served_ic(p), basket.timing_ic(p), basket.ranking_ic(p)]
    for r in basket.shrink_ics(p, [0.0, 0.5]).by_lam:
        figures += [r.ic, r.minus_served]
    assert all(covers_zero(e) for e in figures), figures


def test_shrinking_moves_each_pair_towards_the_basket_mean():
    p = planted(timing=1.0, ranking=1.0)
    mean = p.prediction.mean(axis=1)
    np.testing.assert_allclose(basket.shrunk(p.prediction, 1.0), p.prediction)
    for pair in PAIRS:
        np.testing.assert_allclose(basket.shrunk(p.prediction, 0.0)[pair], mean)
    half = basket.shrunk(p.prediction, 0.5)
    np.testing.assert_allclose(half.mean(axis=1), mean)
    np.testing.assert_allclose(half.sub(mean, axis=0), p.prediction.sub(mean, axis=0) / 2)


def test_shrinking_helps_where_the_pairs_own_predictions_are_noise():
    """A timing edge with noisy pair residuals: the basket mean ranks each pair better than
    its own prediction, with a paired interval above 0; at lam 1 the difference is 0."""
    p = planted(timing=1.0, ranking=0.0)
    by_lam = {r.lam: r for r in basket.shrink_ics(p, [0.0, 1.0]).by_lam}
    assert by_lam[0.0].minus_served.low > 0
    assert by_lam[1.0].minus_served.value == pytest.approx(0.0, abs=1e-12)


def test_the_panel_keeps_only_dates_where_every_pair_is_usable():
    p = basket.panel(rows_of(planted(timing=1.0, ranking=0.0)))
    assert len(p.prediction) == len(DATES) - 2
    assert DATES[5] not in p.prediction.index and DATES[9] not in p.target.index
    assert list(p.prediction.columns) == PAIRS
    assert p.days.nunique() == 30
