"""Signal quality and its loss weight, from a table (the design's 0.6 / 0.4 thresholds)."""

import numpy as np
import pytest

from self_learning.learning.quality import quality_weight, signal_quality


@pytest.mark.parametrize("quality,weight", [
    (0.0, 0.25), (0.2, 0.625), (0.39, 0.98125), (0.4, 1.0), (0.5, 1.0), (0.6, 1.0),
    (0.8, 1.5), (1.0, 2.0),
])
def test_weight_table(quality, weight):
    assert float(quality_weight(quality)) == pytest.approx(weight, abs=1e-6)


def test_quality_direction():
    """A signal the market followed scores above 0.5, one it went against below, none = 0.5."""
    q = signal_quality(np.array([0.01, 0.01, -0.01, 0.0]),
                       np.array([0.003, -0.003, -0.003, 0.003]), 0.002).numpy()
    assert q[0] > 0.6 and q[1] < 0.4 and q[2] > 0.6 and q[3] == pytest.approx(0.5)
