"""A drift response's challenger is served only once its record is `challenge_serve_z`
overlap-aware standard errors (sqrt(H * sum of squared gains)) above 0, so a challenger fitted
on a few days of samples is not served on a lucky handful (0, the default: as soon as its
record is positive), and only once `challenge_serve_samples` of its samples were scored."""

import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.config import ConfigError
from self_learning.learning.learner import PairLearner

START = 1500


def responded(**overrides) -> PairLearner:
    deterministic()
    learner = PairLearner(small_config(**overrides), FEATURES, TIMEFRAME_S)
    learner.fit(planted_candles(START, seed=11, strength=0.6).rows(slice(0, START)))
    learner.programs.p.adapt._respond()  # what a drift alarm on a losing rolling IC does
    return learner


def serving_after(learner, wins: int) -> list[float]:
    """serve_incumbent after each of `wins` matured samples the challenger predicted better
    (the same gain each time, H = 6 in small_config)."""
    challenge, st = learner.programs.p.challenge, learner.state
    st.pending_rival.assign(tf.constant([[0.5, 3.0, 1.0]] + [[0.0, 0.0, 0.0]] * 5))
    served = []
    for _ in range(wins):
        challenge.score(challenge.pending(0), tf.constant(0.5))
        served.append(float(learner.nets.discovery.module.serve_shadow.numpy()))
    return served


def test_a_young_challenger_is_served_only_once_its_record_is_z_errors_above_zero():
    # n equal gains g: record n*g against z*sqrt(6*n*g^2) = g*sqrt(6n) at z = 1, so the
    # challenger is served from the 7th on (n > 6), the incumbent before it.
    served = serving_after(responded(challenge_serve_z=1.0), 9)
    assert served[:5] == [1.0] * 5 and served[7:] == [0.0] * 2
    assert float(responded(challenge_serve_z=1.0).state.challenge_on.numpy()) == 1.0


def test_by_default_a_challenger_is_served_as_soon_as_its_record_is_positive():
    assert serving_after(responded(), 2) == [0.0, 0.0]


@pytest.mark.parametrize("value", [-0.5, 11.0, "1"])
def test_a_bad_challenge_serve_z_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"freqai\.self_learning\.challenge_serve_z"):
        small_config(challenge_serve_z=value)


def test_a_challenger_is_served_only_once_serve_samples_of_it_were_scored():
    # Every sample is a win, so the record is positive from the first: the count alone holds
    # the incumbent for the first 3 scored samples.
    served = serving_after(responded(challenge_serve_samples=4), 6)
    assert served == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_a_bad_challenge_serve_samples_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"freqai\.self_learning\.challenge_serve_samples"):
        small_config(challenge_serve_samples=2.5)
