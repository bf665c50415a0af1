"""LearningSettings: the numbers the compiled programs are built with (static per process).

Derived once from the validated config; everything here is a plain Python value, so a program
traced for one set of settings can be shared by every pair built with the same settings.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from self_learning.config import SelfLearningConfig
from self_learning.returns.moments import discount


@dataclass(frozen=True)
class LearningSettings:
    timeframe_s: int
    horizon: int
    replay_batch: int
    half_life_s: float          # memory of the wide head's statistics
    huber_delta: float          # in units of the target spread
    online_weight: float        # the networks' per-candle learning-rate scale on ordinary days
    wide_online_weight: float   # weight of a per-candle sample in the wide head on those days
    boost_decay: float          # per learned candle, of the step boost after a drift alarm
    trust_decay: float          # per learned candle, of the distrust in the pool after one
    forget: float               # what an alarm keeps of the pair's statistics and pool trust
    drift_delta: float
    drift_threshold: float
    drift_alpha: float
    drift_min_instances: int
    drift_response: bool
    drift_response_z: float     # how far below 0 the rolling IC must be to respond
    drift_challenge: bool       # a response is served only once it beats the model before it
    challenge_expiry: int       # scored samples after which a training settles it by sign
    quality_weighting: bool
    use_latent: bool
    train_deep: bool
    novelty_alpha: float = 0.01  # weight of the newest error in the novelty statistics
    # Matured samples per gradient step of the networks between trainings (program.py,
    # `_network_step`): one step on the newest `network_batch` samples costs about what one
    # step on one sample did (~0.13 of the ~0.36 ms a 5m candle's step took, 2 cores).
    network_batch: int = 8
    pred_var_alpha: float = 0.002  # weight of the newest prediction in its running spread

    @staticmethod
    def from_config(c: SelfLearningConfig, timeframe_s: int) -> LearningSettings:
        per_candle = lambda candles: discount(1.0, max(candles, 1.0))  # noqa: E731
        return LearningSettings(
            timeframe_s=int(timeframe_s), horizon=c.label_period_candles,
            replay_batch=c.replay_batch, half_life_s=memory_half_life_s(c, timeframe_s),
            huber_delta=c.huber_delta, online_weight=c.online_step,
            wide_online_weight=c.wide_online_step,
            boost_decay=per_candle(c.drift_recovery_candles),
            trust_decay=per_candle(c.drift_recovery_candles / 3.0),
            forget=c.drift_forget, drift_delta=c.drift_delta,
            drift_threshold=c.drift_threshold, drift_alpha=1.0 - 1.0 / c.memory_candles,
            drift_min_instances=c.scoreboard_candles, drift_response=c.drift_response,
            drift_response_z=c.drift_response_z, drift_challenge=c.drift_challenge,
            challenge_expiry=c.drift_recovery_candles,
            quality_weighting=c.quality_weighting, use_latent=c.use_latent,
            train_deep=c.deep_head)

    def key(self) -> tuple:
        return astuple(self)


def memory_half_life_s(c: SelfLearningConfig, timeframe_s: int) -> float:
    """The half-life of the wide head's statistics in seconds (`memory_candles` candles): the
    one decay of a pair's own statistics and of the pool that shares them between pairs."""
    return c.memory_candles * float(timeframe_s)
