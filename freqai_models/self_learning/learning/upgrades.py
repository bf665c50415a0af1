"""Reading checkpoints written by earlier schemas of the learner's state (store upgrades).

The store reads a checkpoint only when it matches the modules exactly; otherwise it asks
`upgrade` (store/network.py), which knows the schemas this code grew out of. An upgrade reads
a checkpoint only when every value in it is accounted for: loaded into a variable of the same
object path and shape, or listed below as deliberately dropped. Anything else (a foreign or
damaged checkpoint) is refused and the store skips that version, as before.

* `split-slots`: FusedAdam kept one first- and one second-moment slot per weight
  (`optimizer/m/0`, `optimizer/m/1`, ...); they are concatenated into the flat slots.
* `wide-deep-1` (the schema before the wide head became a closed-form ridge): the
  discovery network had a gradient-trained `wide_out` layer and no wide statistics, the
  learner state had a one-column `pending_pred` ring. Kept: the autoencoder, the liquidity
  network, the discovery network's gate and deep layers, input scaling, counters, replay
  buffer and novelty statistics. Dropped: `wide_out` (the wide head is re-learned from the
  next training's window), the discovery optimizer's moments (their size changed), and the
  pending ring (its samples are learned by the next training instead: nothing is lost).
* `wide-deep-2` (the schema before a drift response became a challenge, monitor/challenge.py):
  everything is kept; the challenge's variables start as "no challenge on", and the learner
  state's `last_alarm_ts` (written by no code) is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from self_learning.networks.pair_networks import SCHEMA_KEY
from self_learning.store.snapshot import module_variables
from self_learning.store.templates import OBJECT_GRAPH_KEY, VALUE_SUFFIX

SCHEMA_BEFORE_WIDE_STATS = "wide-deep-1"
SCHEMA_BEFORE_CHALLENGE = "wide-deep-2"
DROPPED = {  # per schema and network: object paths an upgrade may leave unread
    SCHEMA_BEFORE_WIDE_STATS: {
        "feature_discovery": ("model/_operations/5/_kernel", "model/_operations/5/bias",
                              "optimizer/m", "optimizer/v"),
        "learner_state": ("pending_pred", "last_alarm_ts")},
    SCHEMA_BEFORE_CHALLENGE: {"learner_state": ("last_alarm_ts",)},
}
ADDED = {  # per schema and network: variables that schema lacks (they keep their start values)
    SCHEMA_BEFORE_CHALLENGE: {
        "feature_discovery": ("shadow_wide_beta", "shadow_stats_a", "shadow_stats_b",
                              "shadow_stats_n", "shadow_recent_a", "shadow_recent_b",
                              "shadow_recent_n", "serve_shadow"),
        "learner_state": ("challenge_on", "challenge_record", "challenge_power",
                          "challenge_samples", "shadow_trust", "shadow_boost",
                          "responses_undone", "pending_rival")},
}
RESET_ON_UPGRADE = {"learner_state": ("pending_ok",)}  # values not to trust after wide-deep-1


def upgrade(name: str, module: tf.Module, prefix: str, doc: Mapping[str, Any]) -> bool:
    """Read a checkpoint of an earlier schema into `module` (see the module docstring);
    False, assigning nothing, when it is not one this code knows."""
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    saved = {k[: -len(VALUE_SUFFIX)] for k in shapes if k.endswith(VALUE_SUFFIX)}
    variables = module_variables(module)
    plan: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for path, var in variables.items():
        if path in saved and tuple(shapes[path + VALUE_SUFFIX]) == tuple(var.shape):
            plan[path] = reader.get_tensor(path + VALUE_SUFFIX)
            used.add(path)
            continue
        pieces = _pieces(saved, path)
        if pieces:
            value = np.concatenate([reader.get_tensor(p + VALUE_SUFFIX).reshape(-1)
                                    for p in pieces])
            if value.shape == tuple(var.shape):
                plan[path] = value
                used.update(pieces)
    unread = saved - used - {OBJECT_GRAPH_KEY}
    schema = doc.get(SCHEMA_KEY, SCHEMA_BEFORE_WIDE_STATS)
    oldest = schema == SCHEMA_BEFORE_WIDE_STATS
    if not plan or unread - set(DROPPED.get(schema, {}).get(name, ())):
        return False
    # wide-deep-1 may lack anything (the wide head is re-learned); later schemas only what
    # the code added since (split slots: everything read).
    missing = set(variables) - set(plan)
    if not oldest and missing - set(ADDED.get(schema, {}).get(name, ())):
        return False
    for path, value in plan.items():
        variables[path].assign(np.asarray(value, variables[path].dtype.as_numpy_dtype))
    if oldest:
        for path in RESET_ON_UPGRADE.get(name, ()):
            variables[path].assign(tf.zeros_like(variables[path]))
    return True


def relearns_wide_head(metadata: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a restore read a schema whose wide head is re-learned (wide-deep-1)."""
    return any(doc.get(SCHEMA_KEY, SCHEMA_BEFORE_WIDE_STATS) == SCHEMA_BEFORE_WIDE_STATS
               for doc in metadata.values())


def _pieces(saved: set[str], path: str) -> list[str]:
    pieces = []
    while f"{path}/{len(pieces)}" in saved:
        pieces.append(f"{path}/{len(pieces)}")
    return pieces
