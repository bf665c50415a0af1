"""The return predictor's state: the challenger and the incumbent ridge model, named.

`&-s_close` is predicted by a ridge model on the strategy's standardised features (the wide
head, returns/ridge.py), plus the deep head's part when blended in. Two ridge models exist:

* the challenger: the model that learns (per candle and at every training); outside a
  challenge it is the only one, and the one served;
* the incumbent: the challenger as it was before a drift response, kept aside while the
  response has to prove itself (monitor/challenge.py), and served while it leads.

Both live as tf.Variables of the discovery network's tf.Module (so a store checkpoint holds
them), created here under the attribute names their checkpoints have always had: those names
are the store's compatibility contract (`shadow_*` is the incumbent, `serve_shadow` says
whether it is served). Code reaches the variables through `ReturnModels` only, never by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

PENALTIES = (0.03, 0.1, 0.3, 1.0, 3.0)  # ridge penalties per sample the wide head chooses from
DEFAULT_PENALTY = 0.3  # the ridge penalty until the record chooses one


@dataclass(frozen=True)
class RidgeModel:
    """One ridge model: coefficients, statistics consolidated by trainings (anchored at
    `ReturnModels.stats_ts`) and statistics learned per candle since the last training."""

    beta: tf.Variable
    stats_a: tf.Variable
    stats_b: tf.Variable
    stats_n: tf.Variable
    recent_a: tf.Variable
    recent_b: tf.Variable
    recent_n: tf.Variable

    def statistics(self) -> tuple[tf.Variable, ...]:
        """The variables that carry learned weight."""
        return (self.stats_a, self.stats_b, self.stats_n,
                self.recent_a, self.recent_b, self.recent_n)

    def keep_only(self, share: float) -> None:
        """Keep `share` of the learned weight, forget the rest (a drift response; traceable)."""
        for var in self.statistics():
            var.assign(var * share)

    def take(self, other: RidgeModel) -> None:
        """Become a copy of `other` (traceable)."""
        for mine, theirs in zip((*self.statistics(), self.beta),
                                (*other.statistics(), other.beta), strict=True):
            mine.assign(theirs)


@dataclass(frozen=True)
class ReturnModels:
    """Every variable of the return predictor, in the checkpoint's order (`variables`)."""

    challenger: RidgeModel
    incumbent: RidgeModel
    ridge_lambda: tf.Variable    # the penalty both solve with
    deep_blend: tf.Variable      # weight of the deep head's part in the prediction
    stats_ts: tf.Variable        # anchor (timestamp) of the consolidated statistics
    penalty_gain: tf.Variable    # out-of-sample record of each candidate penalty:
    penalty_power: tf.Variable   # decayed sums of prediction x outcome and prediction^2
    serve_incumbent: tf.Variable  # 1.0 while a challenge serves the incumbent

    def variables(self) -> list[tf.Variable]:
        """The checkpoint's order (the store and the shared program depend on it)."""
        c, i = self.challenger, self.incumbent
        return [c.beta, self.ridge_lambda, self.deep_blend, c.stats_a, c.stats_b, c.stats_n,
                self.stats_ts, c.recent_a, c.recent_b, c.recent_n, self.penalty_gain,
                self.penalty_power, i.beta, i.stats_a, i.stats_b, i.stats_n, i.recent_a,
                i.recent_b, i.recent_n, self.serve_incumbent]

    def serving_incumbent(self) -> tf.Tensor:
        return self.serve_incumbent > 0.5


# Checkpoint name, field, shape (in features) and dtype of every variable, in the order they
# were always created and checkpointed.
_VARIABLES = (
    ("wide_beta", "challenger.beta", "f"), ("ridge_lambda", "ridge_lambda", ""),
    ("deep_blend", "deep_blend", ""), ("stats_a", "challenger.stats_a", "ff"),
    ("stats_b", "challenger.stats_b", "f"), ("stats_n", "challenger.stats_n", ""),
    ("stats_ts", "stats_ts", "ts"), ("recent_a", "challenger.recent_a", "ff"),
    ("recent_b", "challenger.recent_b", "f"), ("recent_n", "challenger.recent_n", ""),
    ("penalty_gain", "penalty_gain", "p"), ("penalty_power", "penalty_power", "p"),
    ("shadow_wide_beta", "incumbent.beta", "f"), ("shadow_stats_a", "incumbent.stats_a", "ff"),
    ("shadow_stats_b", "incumbent.stats_b", "f"), ("shadow_stats_n", "incumbent.stats_n", ""),
    ("shadow_recent_a", "incumbent.recent_a", "ff"),
    ("shadow_recent_b", "incumbent.recent_b", "f"),
    ("shadow_recent_n", "incumbent.recent_n", ""), ("serve_shadow", "serve_incumbent", ""),
)
_START = {"ridge_lambda": DEFAULT_PENALTY}


def create(module: tf.Module, n_features: int) -> ReturnModels:
    """Create the predictor's variables on `module` under their checkpoint names (the
    attribute name is the checkpoint key), in their checkpoint order."""
    f = int(n_features)
    shapes = {"f": (f,), "ff": (f, f), "p": (len(PENALTIES),), "": (), "ts": ()}
    fields: dict[str, tf.Variable] = {}
    for name, field, shape in _VARIABLES:
        dtype = tf.int64 if shape == "ts" else tf.float32
        value = np.full(shapes[shape], _START.get(name, 0), dtype.as_numpy_dtype)
        var = tf.Variable(tf.constant(value, dtype), trainable=False, name=name)
        setattr(module, name, var)
        fields[field] = var
    ridge = lambda side: RidgeModel(**{k.split(".")[1]: v for k, v in fields.items()  # noqa: E731
                                       if k.startswith(side + ".")})
    return ReturnModels(ridge("challenger"), ridge("incumbent"),
                        **{k: v for k, v in fields.items() if "." not in k})
