"""One River-style check suite (river/checks) run over every online learner of a pair.

A learner here is a part that learns one sample at a time, through the rule the per-candle step
runs for it (learning/program.py): the autoencoder, the discovery network's deep head and the
liquidity network (the guarded gradient update, at a full sample's step) and the discovery
network's wide head, which predicts `&-s_close` (the sample enters its recent statistics,
then its coefficients follow them). Each check builds the learners as a first training leaves
them (scaled on the data, the wide head fitted on a window) and states one property every
online learner must have:

* learning an example moves the learner's prediction of it toward its target;
* the same seed learns the same (and, where weights start random, another seed differs);
* a non-finite example is rejected: the learner reports it and is left untouched;
* its state round-trips through the real store: restored into learners built with another
  seed, it predicts and goes on learning bit for bit like the original;
* learning does not change the arrays it is given: the learners take tensors, so this is
  checked where arrays enter, PairLearner's fit, observe and predict, with the arrays and the
  DataFrame production hands over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from synthetic import (
    FEATURES,
    TIMEFRAME_S,
    planted_candles,
    small_config,
    small_learner,
    small_runtime,
)

from self_learning.candles.frames import OHLCV, candles_from_frame
from self_learning.candles.samples import Candles, prepare
from self_learning.learning.program import Programs
from self_learning.learning.settings import LearningSettings
from self_learning.learning.state import LearnerState
from self_learning.networks.pair_networks import PairNetworks
from self_learning.returns import ridge
from self_learning.returns.head import WideHead
from self_learning.returns.moments import Moments
from self_learning.store import ModelStore

W, H = 16, 6
FIT_ROWS = 1600  # the rows the wide head is fitted on; the examples come after them
ONE = np.ones(1, np.float32)


@pytest.fixture(scope="module")
def samples():
    return prepare(planted_candles(2400, seed=3), W, H, proxy=False)


@dataclass
class Built:
    nets: PairNetworks
    state: LearnerState
    programs: Programs

    def modules(self) -> dict:
        return {**self.nets.modules(), "learner_state": self.state}


def build(s, seed: int = 7) -> Built:
    """A pair's networks, state and programs as its first training leaves them. Seeded by the
    config's seed only, as in production (no global Keras seed)."""
    tf.config.experimental.enable_op_determinism()
    config = small_config(seed=seed, deep_head=True)
    nets = PairNetworks(config, len(FEATURES))
    state = LearnerState(nets.autoencoder.input_dim, len(FEATURES), H, 64, 32, seed)
    settings = LearningSettings.from_config(config, TIMEFRAME_S)
    programs = Programs(nets, state, settings)
    rows = np.flatnonzero(s.target_ok[:FIT_ROWS])
    nets.autoencoder.set_scaling(s.windows[rows])
    nets.discovery.set_scaling(s.features[rows], s.targets[rows, 0])
    nets.liquidity.set_scaling(s.features[rows], s.targets[rows, 1:])
    spec = ridge.WideSpec(settings.half_life_s, config.huber_delta, H)
    WideHead(nets.discovery, state, spec, TIMEFRAME_S).first_fit(
        s, rows, Moments.zeros(len(FEATURES)))
    return Built(nets, state, programs)


@dataclass(frozen=True)
class Example:
    """One matured sample as the per-candle step hands it to the learners."""

    windows: np.ndarray   # (1, W*4) float32
    features: np.ndarray  # (1, F) float32
    targets: np.ndarray   # (1, 3) float32
    ts: np.int64

    def with_nan(self, where: str) -> Example:
        bad = getattr(self, where).copy()
        bad[0, 0] = np.nan  # targets: the return's (every learner reads it)
        return Example(**{**self.__dict__, where: bad})


def examples(s, count: int, start: int = FIT_ROWS + H) -> list[Example]:
    rows = [i for i in range(start, len(s.ts)) if s.target_ok[i]][:count]
    return [Example(s.windows[i : i + 1].copy(), s.features[i : i + 1].copy(),
                    s.targets[i : i + 1].copy(), np.int64(s.ts[i])) for i in rows]


class Network:
    """A network learning through the guarded update (it updates the three together)."""

    seeded = True
    reads = ("windows", "features", "targets")  # the update checks all it is given
    LOSS_INDEX = {"autoencoder": 0, "feature_discovery": 1, "liquidity": 2}

    def __init__(self, name: str):
        self.name = name

    def net(self, b: Built):
        return {"autoencoder": b.nets.autoencoder, "feature_discovery": b.nets.discovery,
                "liquidity": b.nets.liquidity}[self.name]

    def learn(self, b: Built, ex: Example) -> bool:
        return bool(b.programs.guarded_update(ex.windows, ex.features, ex.targets, ONE, ONE,
                                              1.0))

    def error(self, b: Built, ex: Example) -> float:
        """Its loss on the example: how far its prediction is from the target."""
        losses = b.programs.losses(ex.windows, ex.features, ex.targets, ONE).numpy()
        return float(losses[self.LOSS_INDEX[self.name]])

    def state(self, b: Built) -> list[np.ndarray]:
        """What learning writes: every variable of its modules (weights, optimizer, scaling)."""
        return [v.numpy().copy() for m in self.net(b).modules.values()
                for v in m.state_variables()]


class WideHeadLearner:
    """The wide head's per-candle rule: the sample into the recent statistics (a full sample's
    weight, as after a drift response), then the coefficients follow."""

    name = "wide_head"
    seeded = False  # closed form from statistics: no random start
    reads = ("features", "targets")

    def learn(self, b: Built, ex: Example) -> bool:
        c, f = b.nets.discovery.module.models.challenger, len(FEATURES)
        before = float(c.recent_n.numpy())
        b.state.boost.assign(1.0)  # what DriftResponse._respond sets: the step follows
        b.programs.ridge.learn(ex.features[0], ex.targets[0, 0], ex.ts, 1.0)
        no_others = Moments(tf.zeros([f, f]), tf.zeros([f]), tf.constant(0.0),
                            tf.constant(ex.ts, tf.int64))
        b.programs.ridge.follow(tf.constant(ex.ts, tf.int64), no_others)
        return float(c.recent_n.numpy()) > before

    def error(self, b: Built, ex: Example) -> float:
        d = b.nets.discovery
        pred = tf.linalg.matvec(d.wide_inputs(ex.features), d.module.models.challenger.beta)
        return float(tf.abs(pred - d.scaled_target(ex.targets[:, 0]))[0])

    def state(self, b: Built) -> list[np.ndarray]:
        r = b.nets.discovery.module.models
        return [v.numpy().copy() for v in (*r.challenger.statistics(), r.stats_ts)]


LEARNERS = [Network("autoencoder"), Network("feature_discovery"), Network("liquidity"),
            WideHeadLearner()]
IDS = [learner.name for learner in LEARNERS]


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_learning_an_example_moves_its_prediction_toward_its_target(learner, samples):
    b = build(samples)
    for ex in examples(samples, 5):
        before = learner.error(b, ex)
        assert learner.learn(b, ex)
        after = learner.error(b, ex)
        assert after < before, (learner.name, before, after)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_the_same_seed_learns_the_same(learner, samples):
    """Built and taught the same examples twice with seed 7: bit-identical state and errors;
    with seed 8 a randomly initialised learner differs."""
    runs = {}
    for key, seed in (("a", 7), ("b", 7), ("c", 8)):
        b = build(samples, seed)
        for ex in examples(samples, 3):
            learner.learn(b, ex)
        runs[key] = learner.state(b), [learner.error(b, ex) for ex in examples(samples, 3)]
    for x, y in zip(runs["a"][0], runs["b"][0], strict=True):
        np.testing.assert_array_equal(x, y)
    assert runs["a"][1] == runs["b"][1]
    if learner.seeded:
        assert any(not np.array_equal(x, y) for x, y in zip(runs["a"][0], runs["c"][0],
                                                            strict=True))


@pytest.mark.parametrize("builder", ["small_learner", "small_runtime"])
def test_the_tests_small_builders_turn_on_op_determinism(builder, tmp_path):
    """The tests that compare weights seed everything and run TensorFlow's ops
    deterministically: synthetic's small learner and runtime turn op determinism on
    (deterministic()), whatever the tests before them left (TensorFlow 2.21 has no public
    is_op_determinism_enabled)."""
    from tensorflow.python.framework import config as tf_config

    tf_config.disable_op_determinism()
    small_learner() if builder == "small_learner" else small_runtime(tmp_path)
    assert tf_config.is_op_determinism_enabled()


@pytest.mark.parametrize("where", ["windows", "features", "targets"])
def test_a_non_finite_example_is_rejected_and_leaves_every_learner_untouched(where, samples):
    """A NaN in the example's windows, features or return target: each learner that reads it
    reports the example as not learned and its state stays bit for bit (the per-candle step
    counts it, test_learner.py::test_bad_input_is_skipped_counted_and_never_reaches_weights).
    Each learner is offered the example in turn, on one build."""
    b = build(samples)
    bad = examples(samples, 1)[0].with_nan(where)
    for learner in (learner for learner in LEARNERS if where in learner.reads):
        before = learner.state(b)
        assert not learner.learn(b, bad), learner.name
        for x, y in zip(before, learner.state(b), strict=True):
            np.testing.assert_array_equal(x, y, err_msg=learner.name)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_state_round_trips_through_the_store(learner, samples, tmp_path):
    """Taught three examples, saved through the real store, restored into learners built
    with another seed: identical state and predictions, and the next example is learned
    identically by both."""
    b = build(samples)
    first, nxt = examples(samples, 3), examples(samples, 1, start=FIT_ROWS + 100)[0]
    for ex in first:
        learner.learn(b, ex)
    store = ModelStore(tmp_path, keep_versions=2).pair("BTC/USDT")
    modules = b.modules()
    store.save(modules, {k: {"training_counter": 1} for k in modules},
               {k: b.nets.graph_key() for k in modules})
    fresh = build(samples, seed=8)
    assert store.restore(fresh.modules()) is not None
    for x, y in zip(learner.state(b), learner.state(fresh), strict=True):
        np.testing.assert_array_equal(x, y)
    probe = np.concatenate([ex.windows for ex in first]), np.concatenate(
        [ex.features for ex in first])
    np.testing.assert_array_equal(b.programs.predict_rows(*probe).numpy(),
                                  fresh.programs.predict_rows(*probe).numpy())
    assert learner.learn(b, nxt) and learner.learn(fresh, nxt)
    for x, y in zip(learner.state(b), learner.state(fresh), strict=True):
        np.testing.assert_array_equal(x, y)


# -- where arrays enter: PairLearner -------------------------------------------------------


def frame_of(candles: Candles) -> pd.DataFrame:
    """The candles as the dataframe FreqAI hands the model (features with NaN warm-up rows
    and a NaN mid-block, as indicators give)."""
    df = pd.DataFrame(candles.ohlcv, columns=OHLCV)
    df.insert(0, "date", pd.to_datetime(candles.ts, unit="s", utc=True))
    for i, name in enumerate(FEATURES):
        df[name] = candles.features[:, i]
    df.loc[:9, FEATURES[1]] = np.nan
    df.loc[1300, FEATURES[0]] = np.nan
    return df


# Each entry point given what FreqAI hands over: a training window (the first one, then one
# slid forward), or the whole recent frame to predict on (learning the new candles or not).
CASES = {
    "fit": lambda lrn, c: lrn.fit(c.rows(slice(0, 1200))),
    "incremental_fit": lambda lrn, c: lrn.fit(c.rows(slice(100, 1300))),
    "observe": lambda lrn, c: lrn.observe(c),
    "predict": lambda lrn, c: lrn.predict(c),
}


@pytest.mark.parametrize("case", list(CASES))
def test_learning_does_not_mutate_its_inputs(case):
    """Each of PairLearner's entry points, given the writable float64 arrays that
    frames.candles_from_frame makes of FreqAI's dataframe (NaN rows included), leaves those
    arrays and the dataframe as they were."""
    df = frame_of(planted_candles(1400, seed=4))
    frame_before = df.copy(deep=True)
    candles = candles_from_frame(df, FEATURES)
    arrays = (candles.ts, candles.ohlcv, candles.features)
    assert all(a.flags.writeable for a in arrays)
    learner = small_learner()
    if case != "fit":
        learner.fit(candles_from_frame(df, FEATURES).rows(slice(0, 1150)))
    copies = [a.copy() for a in arrays]
    CASES[case](learner, candles)
    for a, copy in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, copy)
    pd.testing.assert_frame_equal(df, frame_before)


def test_a_first_fit_with_non_finite_coefficients_is_refused_before_it_sets_anything(
        samples, monkeypatch):
    """A solve that returns NaN (what a NaN that slipped past the sample checks would give)
    raises before the coefficients, the statistics or the drift detector's spread change."""
    b = build(samples)
    r, f = b.nets.discovery.module.models, len(FEATURES)
    before = [v.numpy().copy() for v in (*r.challenger.statistics(), r.challenger.beta,
                                         r.stats_ts, b.state.drift, b.state.linear_learned_ts)]
    monkeypatch.setattr(ridge, "solve_moments", lambda *args: np.full(f, np.nan))
    spec = ridge.WideSpec(1e12, 0.5, H)
    rows = np.flatnonzero(samples.target_ok[:FIT_ROWS])
    with pytest.raises(ValueError, match="spread of the wide head's predictions is nan"):
        WideHead(b.nets.discovery, b.state, spec, TIMEFRAME_S).first_fit(
            samples, rows, Moments.zeros(f))
    after = [v.numpy() for v in (*r.challenger.statistics(), r.challenger.beta, r.stats_ts,
                                 b.state.drift, b.state.linear_learned_ts)]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)


def test_the_wide_head_keeps_its_coefficients_when_their_solve_is_not_finite(samples):
    """Whatever the statistics hold, the coefficients never become NaN or inf: statistics
    holding an inf (the per-candle step's own guard keeps those out; this is the last line)
    leave the coefficients as they were, bit for bit, and the next solve of sound statistics
    moves them again."""
    b = build(samples)
    c, f = b.nets.discovery.module.models.challenger, len(FEATURES)
    ex = examples(samples, 1)[0]
    b.state.boost.assign(1.0)  # a drift response: the coefficients follow the statistics
    no_others = Moments(tf.zeros([f, f]), tf.zeros([f]), tf.constant(0.0),
                        tf.constant(ex.ts, tf.int64))
    before = c.beta.numpy().copy()
    sound = c.recent_a.numpy().copy()
    c.recent_a.assign(np.full_like(sound, np.inf))
    b.programs.ridge.follow(tf.constant(ex.ts, tf.int64), no_others)
    np.testing.assert_array_equal(c.beta.numpy(), before)
    c.recent_a.assign(sound)
    b.programs.ridge.learn(ex.features[0], ex.targets[0, 0], ex.ts, 1.0)
    b.programs.ridge.follow(tf.constant(ex.ts, tf.int64), no_others)
    assert np.isfinite(c.beta.numpy()).all() and not np.array_equal(c.beta.numpy(), before)


def test_the_wide_head_follows_its_own_and_the_pools_statistics_at_the_candle(samples):
    """OnlineRidge.totals: the pair's consolidated and recent statistics discounted from
    their anchor to the candle, plus the pool's discounted from its `as_of`, weighted by the
    pair's trust in the pool: one half-life after each, half of each (times the trust)."""
    b = build(samples)
    r, f = b.nets.discovery.module.models, len(FEATURES)
    c, online = r.challenger, b.programs.ridge
    half = int(online.s.half_life_s)
    anchor = int(r.stats_ts.numpy())
    c.recent_a.assign(np.eye(f, dtype=np.float32))
    c.recent_b.assign(np.ones(f, np.float32))
    c.recent_n.assign(3.0)
    b.state.pool_trust.assign(0.5)
    others = Moments(tf.eye(f) * 8.0, tf.ones(f) * 8.0, tf.constant(8.0),
                     tf.constant(anchor, tf.int64))
    a, bb, n = (t.numpy() for t in online.totals(tf.constant(anchor + half, tf.int64), others))
    own_n = float(c.stats_n.numpy()) + 3.0
    assert n == pytest.approx(0.5 * own_n + 0.5 * 0.5 * 8.0, rel=1e-5)
    np.testing.assert_allclose(bb, 0.5 * (c.stats_b.numpy() + 1.0) + 0.25 * 8.0, rtol=1e-5)
    np.testing.assert_allclose(a, 0.5 * (c.stats_a.numpy() + np.eye(f)) + 2.0 * np.eye(f),
                               rtol=1e-5, atol=1e-6)


def test_a_learned_sample_enters_the_recent_statistics_grown_to_the_anchor(samples):
    """OnlineRidge.learn: one sample at weight 0.5, one half-life after the anchor (grown by
    2), adds 0.5 x 2 to n, and z z' and z y to A and b times that and its Huber weight under
    the current coefficients (a residual of 3 delta: 1/3)."""
    b = build(samples)
    r, ex = b.nets.discovery.module.models, examples(samples, 1)[0]
    c, online, d = r.challenger, b.programs.ridge, b.nets.discovery
    half = int(online.s.half_life_s)
    ts = int(r.stats_ts.numpy()) + half
    z = d.wide_inputs(ex.features).numpy()[0].astype(np.float64)
    y = float(d.scaled_target(ex.targets[:, 0]).numpy()[0])
    delta = online.s.huber_delta
    c.beta.assign((z * (y + 3 * delta) / (z @ z)).astype(np.float32))  # residual -3 delta
    before = [v.numpy().copy() for v in (c.recent_a, c.recent_b, c.recent_n)]
    online.learn(ex.features[0], ex.targets[0, 0], tf.constant(ts, tf.int64), 0.5)
    w = (1 / 3) * 0.5 * 2.0  # Huber weight delta / |residual|, weight, growth
    assert float(c.recent_n.numpy()) - float(before[2]) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(c.recent_b.numpy() - before[1], w * z * y, rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(c.recent_a.numpy() - before[0], w * np.outer(z, z), rtol=1e-4,
                               atol=1e-6)


def test_the_wide_head_follows_its_statistics_only_while_they_can_move(samples):
    """Without per-candle samples in the wide head (wide_online_step 0, the default) and no
    drift response under way, the coefficients stay the training's exact solution, bit for
    bit, whatever the statistics hold; with a response's boost they follow them."""
    b = build(samples)
    c, f = b.nets.discovery.module.models.challenger, len(FEATURES)
    ex = examples(samples, 1)[0]
    assert b.programs.ridge.s.wide_online_weight == 0.0 and float(b.state.boost.numpy()) == 0
    no_others = Moments(tf.zeros([f, f]), tf.zeros([f]), tf.constant(0.0),
                        tf.constant(ex.ts, tf.int64))
    before = c.beta.numpy().copy()
    c.recent_b.assign(c.recent_b + 5.0)
    b.programs.ridge.follow(tf.constant(ex.ts, tf.int64), no_others)
    np.testing.assert_array_equal(c.beta.numpy(), before)
    b.state.boost.assign(1.0)
    b.programs.ridge.follow(tf.constant(ex.ts, tf.int64), no_others)
    assert not np.array_equal(c.beta.numpy(), before)
