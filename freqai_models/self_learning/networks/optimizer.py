"""FusedAdam: Adam with one flat first- and one flat second-moment slot per module.

Keras 3's Adam emits ~60 graph ops per variable, and per-candle online learning of three small
networks is bound by per-op and per-variable overhead: an XLA call binds every variable it
touches (~5 us each here). So the moments of all of a module's weights live in two flat
variables (`m`, `v`), updated by a few whole-vector ops; each weight takes one `assign_sub`.
The update is TensorFlow's ApplyAdam formula (lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)).
It is a tf.Module (slots and step counter are checkpointed with the model) and creates every
slot eagerly, so a module's object graph is identical before and after the first update.
Checkpoints written with one slot per weight (`m/0`, `m/1`, ...) are read by
`store/network.py`, which concatenates them in this same order.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class FusedAdam(tf.Module):
    def __init__(self, variables, learning_rate: float, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, name: str = "adam"):
        super().__init__(name=name)
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False,
                                         name="learning_rate")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        # Tuples, not lists: a list attribute would become a node of the checkpoint graph.
        self.shapes = tuple(tuple(int(d) for d in v.shape) for v in variables)
        self.sizes = tuple(int(np.prod(shape, dtype=np.int64)) for shape in self.shapes)
        total = sum(self.sizes)
        self.m = tf.Variable(tf.zeros([total]), trainable=False, name="m")
        self.v = tf.Variable(tf.zeros([total]), trainable=False, name="v")

    def apply_gradients(self, grads, variables, lr_scale=1.0) -> None:
        """One Adam step; `lr_scale` multiplies the learning rate of this step only."""
        b1, b2 = self.beta_1, self.beta_2
        step = tf.cast(self.iterations + 1, tf.float32)
        lr = tf.cast(self.learning_rate, tf.float32) * lr_scale
        lr_t = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
        g = tf.concat([tf.reshape(grad, [-1]) for grad in grads], axis=0)
        m = self.m + (g - self.m) * (1.0 - b1)
        v = self.v + (tf.square(g) - self.v) * (1.0 - b2)
        self.m.assign(m)
        self.v.assign(v)
        steps = tf.split(lr_t * m / (tf.sqrt(v) + self.epsilon), self.sizes)
        for var, delta, shape in zip(variables, steps, self.shapes, strict=True):
            var.assign_sub(tf.reshape(delta, shape))
        self.iterations.assign_add(1)

    def slot_variables(self) -> list[tf.Variable]:
        return [self.learning_rate, self.iterations, self.m, self.v]
