"""Learners of one shape share one compiled online step (shared_program.py), and each still
learns and predicts exactly what it would with a program of its own, without touching the
variables of the learner that traced the program."""

from dataclasses import dataclass

import numpy as np
import pytest
from synthetic import planted_candles, small_learner, weights_of

from self_learning.learning import shared_program


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2000, seed=21)


def steps_compiled() -> int:
    return sum(1 for (_, extra) in shared_program._PROGRAMS if extra[0] == "step")


def fitted(candles, seed):
    learner = small_learner(seed=seed)
    learner.fit(candles.rows(slice(0, 1400)))
    return learner


@dataclass(frozen=True)
class Traced:
    """A learner (seed 7) that compiled a step of its own: what it predicted and learned on
    candles 1400..1700; then, the registry cleared again, `first` (seed 3), which traced the
    one step of that shape the registry holds, and its weights after 50 candles."""

    own: object
    own_weights: list
    first: object
    first_weights: list


@pytest.fixture(scope="module")
def traced(candles) -> Traced:
    """Both tests' learners of the small shape; the second test's wider learner compiles its
    step next to `first`'s."""
    shared_program.clear()
    alone = fitted(candles, seed=7)  # traces and compiles its own program
    own = alone.observe(candles.rows(slice(1400, 1700)))
    own_weights = weights_of(alone)

    shared_program.clear()
    first = fitted(candles, seed=3)  # traces the program the next learner borrows
    first.observe(candles.rows(slice(1400, 1450)))
    return Traced(own, own_weights, first, weights_of(first))


def test_a_learner_on_a_shared_program_equals_one_on_its_own(candles, traced):
    own, own_weights = traced.own, traced.own_weights
    first, first_weights = traced.first, traced.first_weights
    borrower = fitted(candles, seed=7)
    assert borrower.step_compiled is False
    got = borrower.observe(candles.rows(slice(1400, 1700)))
    assert borrower.step_compiled
    assert steps_compiled() == 1  # fits, predictions and the step: one program each

    np.testing.assert_array_equal(got.s_close, own.s_close)
    np.testing.assert_array_equal(got.novelty, own.novelty)
    np.testing.assert_array_equal(got.training_counter, own.training_counter)
    for a, b in zip(weights_of(borrower), own_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(weights_of(first), first_weights, strict=True):
        np.testing.assert_array_equal(a, b)  # the program's first owner was not touched
    assert not np.array_equal(got.s_close, first.predict(candles.rows(slice(1400, 1700))).s_close)


def test_a_different_shape_gets_its_own_program(candles, traced):
    assert steps_compiled() == 1  # `traced.first`'s step of the small shape
    wider = small_learner(seed=1, hidden_units=24)
    wider.fit(candles.rows(slice(0, 1400)))
    out = wider.observe(candles.rows(slice(1400, 1420)))
    assert steps_compiled() == 2
    assert np.isfinite(out.s_close).all()
