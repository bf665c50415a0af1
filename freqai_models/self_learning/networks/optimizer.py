"""FusedAdam: Adam whose update is one fused kernel per variable (ResourceApplyAdam).

Keras 3's Adam emits ~60 graph ops per variable; per-candle online learning of three small
networks is dominated by that overhead, so the networks use this instead. It is a tf.Module
(its slots and step counter are checkpointed with the model) and creates every slot eagerly,
so a module's object graph is identical before and after the first update.
"""

from __future__ import annotations

import tensorflow as tf


def variable_handle(var):
    """The resource handle of a tf.Variable or of a Keras 3 variable wrapping one."""
    return getattr(var, "value", var).handle if not hasattr(var, "handle") else var.handle


class FusedAdam(tf.Module):
    def __init__(self, variables, learning_rate: float, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, name: str = "adam"):
        super().__init__(name=name)
        self.learning_rate = tf.Variable(float(learning_rate), trainable=False,
                                         name="learning_rate")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.m = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name=f"m{i}")
                  for i, v in enumerate(variables)]
        self.v = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name=f"v{i}")
                  for i, v in enumerate(variables)]

    def apply_gradients(self, grads, variables) -> None:
        step = tf.cast(self.iterations + 1, tf.float32)
        b1_power = tf.pow(tf.constant(self.beta_1), step)
        b2_power = tf.pow(tf.constant(self.beta_2), step)
        lr = tf.cast(self.learning_rate, tf.float32)
        for grad, var, m, v in zip(grads, variables, self.m, self.v, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=variable_handle(var), m=m.handle, v=v.handle, beta1_power=b1_power,
                beta2_power=b2_power, lr=lr, beta1=self.beta_1, beta2=self.beta_2,
                epsilon=self.epsilon, grad=grad, use_locking=False,
            )
        self.iterations.assign_add(1)

    def slot_variables(self) -> list[tf.Variable]:
        return [self.learning_rate, self.iterations, *self.m, *self.v]
