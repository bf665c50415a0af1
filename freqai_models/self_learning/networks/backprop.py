"""Hand-derived forward and backward passes of Dense stacks, for the per-candle online step.

The online step updates three networks per candle on ~9 samples, so its cost is TensorFlow's
per-op overhead, not arithmetic. GradientTape through Keras layers emits several times more
graph ops than the chain rule needs (casts, identities, shape ops, the regularisers' own
gradients); here a Dense+SiLU layer is 4 ops forward and 6 backward. The full fit keeps using
GradientTape; `tests/test_backprop.py` checks both give the same gradients for every network.

Pure functions of tensors and the Keras layers' variables: nothing here is stateful.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

EPS = 1e-8


@dataclass(frozen=True)
class DenseSpec:
    """One Keras Dense layer: its variables, whether SiLU follows, its L2 factor."""

    kernel: keras.Variable
    bias: keras.Variable
    silu: bool
    l2: float


def dense_specs(model: keras.Model, names: list[str]) -> list[DenseSpec]:
    """The named Dense layers of `model`, in order, as DenseSpecs."""
    specs = []
    for name in names:
        layer = model.get_layer(name)
        activation = layer.get_config()["activation"]
        if activation not in ("silu", "linear"):
            raise ValueError(f"layer {name}: activation {activation!r} has no hand-derived "
                             "gradient here (silu or linear only)")
        reg = layer.kernel_regularizer
        l2 = float(reg.get_config()["l2"]) if reg is not None else 0.0
        if layer.bias_regularizer is not None or layer.activity_regularizer is not None:
            raise ValueError(f"layer {name}: only kernel L2 regularisation is supported")
        specs.append(DenseSpec(layer.kernel, layer.bias, activation == "silu", l2))
    return specs


@dataclass(frozen=True)
class _Cached:
    inputs: tf.Tensor
    kernel: tf.Tensor
    pre: tf.Tensor
    sig: tf.Tensor | None


def forward(x: tf.Tensor, specs: list[DenseSpec]) -> tuple[tf.Tensor, list[_Cached]]:
    """Output of the stack and what `backward` needs (each variable read once)."""
    cache = []
    for spec in specs:
        kernel = tf.convert_to_tensor(spec.kernel)
        pre = tf.matmul(x, kernel) + tf.convert_to_tensor(spec.bias)
        sig = tf.sigmoid(pre) if spec.silu else None
        cache.append(_Cached(x, kernel, pre, sig))
        x = pre * sig if spec.silu else pre
    return x, cache


def backward(d_out: tf.Tensor, specs: list[DenseSpec], cache: list[_Cached],
             input_grad: bool = False):
    """Gradients {id(variable): grad} of the stack, L2 included, and d(loss)/d(input)."""
    grads = {}
    d = d_out
    for i in reversed(range(len(specs))):
        spec, c = specs[i], cache[i]
        if spec.silu:
            d = d * (c.sig * (1.0 + c.pre * (1.0 - c.sig)))
        d_kernel = tf.matmul(c.inputs, d, transpose_a=True)
        if spec.l2:
            d_kernel = d_kernel + (2.0 * spec.l2) * c.kernel
        grads[id(spec.kernel)] = d_kernel
        grads[id(spec.bias)] = tf.reduce_sum(d, axis=0)
        if i > 0 or input_grad:
            d = tf.matmul(d, c.kernel, transpose_b=True)
    return grads, (d if input_grad else None)


def weighted_huber_and_grad(y_true: tf.Tensor, y_pred: tf.Tensor, weights: tf.Tensor):
    """`base.weighted_huber` (delta 1, mean over outputs, weighted mean over samples) and its
    gradient with respect to y_pred."""
    err = y_pred - y_true
    abs_err = tf.abs(err)
    per = tf.reduce_mean(tf.where(abs_err < 1.0, 0.5 * tf.square(err), abs_err - 0.5), axis=-1)
    scale = weights / tf.maximum(tf.reduce_sum(weights), EPS)
    loss = tf.reduce_sum(per * scale)
    d_pred = tf.clip_by_value(err, -1.0, 1.0) * (scale / float(y_pred.shape[-1]))[:, None]
    return loss, d_pred


def ordered(grads: dict, variables) -> list[tf.Tensor]:
    """Gradients in the order of `variables` (a model's trainable_variables)."""
    return [grads[id(v)] for v in variables]
