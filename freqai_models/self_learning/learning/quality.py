"""Signal quality and the loss weight derived from it (TensorFlow ops, usable eagerly too).

Quality in [0, 1] of a return signal once its outcome is known: 0.5 for no signal or no move,
towards 1 when the realized return went the predicted way (the further the better), towards 0
when it went against it. As the design states, quality > 0.6 reinforces the sample (weight
1..2), quality < 0.4 weakens it (weight 0.25..1), anything between is neutral (weight 1).
"""

from __future__ import annotations

import tensorflow as tf

REINFORCE_ABOVE = 0.6
WEAKEN_BELOW = 0.4
MIN_WEIGHT = 0.25


def signal_quality(predicted, realized, scale):
    predicted = tf.cast(predicted, tf.float32)
    realized = tf.cast(realized, tf.float32)
    agreement = tf.sign(predicted) * realized / tf.maximum(tf.cast(scale, tf.float32), 1e-12)
    return tf.sigmoid(tf.clip_by_value(agreement, -30.0, 30.0))


def quality_weight(quality):
    q = tf.clip_by_value(tf.cast(quality, tf.float32), 0.0, 1.0)
    reinforce = 1.0 + (q - REINFORCE_ABOVE) / (1.0 - REINFORCE_ABOVE)
    weaken = MIN_WEIGHT + (1.0 - MIN_WEIGHT) * q / WEAKEN_BELOW
    return tf.where(q > REINFORCE_ABOVE, reinforce, tf.where(q < WEAKEN_BELOW, weaken, 1.0))
