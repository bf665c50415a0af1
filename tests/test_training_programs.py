"""A training runs on an epoch program of its shape already compiled when that program holds
its rows (learning/compiled.py): an incremental fit smaller than the full fit before it
compiles nothing new, and learns bit-identically to a fit on a program of its own size."""

import numpy as np
import pytest
from synthetic import planted_candles, small_learner, weights_of

from self_learning.learning import compiled, shared_program


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2000, seed=5)


def epoch_programs() -> set[str]:
    return {extra[0] for (_, extra) in shared_program._PROGRAMS if extra[0].startswith("epoch")}


def forget_programs() -> None:
    shared_program.clear()
    compiled._EPOCH_CAPACITIES.clear()


def full_then_incremental(candles, forget_between: bool):
    learner = small_learner(seed=11)
    learner.fit(candles.rows(slice(0, 1400)))  # ~1,200 training rows: capacity 2048
    if forget_between:
        forget_programs()
    report = learner.fit(candles.rows(slice(300, 1700)))  # ~300 new + 300 replayed: 1024
    assert report.mode == "incremental" and report.samples > 200
    return learner


def test_an_incremental_fit_reuses_the_larger_program_and_learns_the_same(candles):
    forget_programs()
    reused = full_then_incremental(candles, forget_between=False)
    assert epoch_programs() == {"epoch-2048-256-128"}  # no program for 1024 rows

    forget_programs()
    own = full_then_incremental(candles, forget_between=True)
    assert epoch_programs() == {"epoch-1024-256-128"}  # its own bucket, compiled anew

    for a, b in zip(weights_of(reused), weights_of(own), strict=True):
        np.testing.assert_array_equal(a, b)
    probe = candles.rows(slice(1400, 1800))
    np.testing.assert_array_equal(reused.predict(probe).liq_up, own.predict(probe).liq_up)


def test_the_smallest_compiled_program_that_holds_the_rows_is_chosen():
    compiled_caps = {(4096, 256), (1024, 256), (1024, 512), (512, 256)}
    assert compiled._epoch_capacities(compiled_caps, 1024, 256) == (1024, 256)
    assert compiled._epoch_capacities(compiled_caps, 256, 256) == (512, 256)
    assert compiled._epoch_capacities(compiled_caps, 2048, 256) == (4096, 256)
    assert compiled._epoch_capacities(compiled_caps, 1024, 1024) == (1024, 1024)  # new
    assert compiled._epoch_capacities(set(), 256, 256) == (256, 256)
