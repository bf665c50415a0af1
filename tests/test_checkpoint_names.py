"""The checkpoint names of the return predictor and the learner state are a store contract.

A store written by an earlier release restores only if every object path it holds is found
again. These names were written by main before the return predictor got its own package
(returns/models.py): the incumbent kept its historical `shadow_*` names.
"""

from __future__ import annotations

from synthetic import small_learner

from self_learning.store.snapshot import module_variables

# The non-Keras object paths of a store's checkpoints as main wrote them (layout wide-deep-3),
# in the order the discovery module checkpoints its extra variables.
DISCOVERY = ("wide_beta", "ridge_lambda", "deep_blend", "stats_a", "stats_b", "stats_n",
             "stats_ts", "recent_a", "recent_b", "recent_n", "penalty_gain", "penalty_power",
             "shadow_wide_beta", "shadow_stats_a", "shadow_stats_b", "shadow_stats_n",
             "shadow_recent_a", "shadow_recent_b", "shadow_recent_n", "serve_shadow")
LEARNER_STATE = (
    "alarm_age", "board_count", "board_pred", "board_real", "boost", "challenge_on",
    "challenge_power", "challenge_record", "challenge_samples", "drift", "drift_alarms",
    "drift_responses", "last_learned_step", "last_learned_ts", "last_seen_ts",
    "linear_learned_ts", "novelty_mean", "novelty_var", "pending_features", "pending_ok",
    "pending_preds", "pending_rival", "pending_ts", "pending_windows", "pool_trust",
    "quality_scale", "rejected_updates", "replay_count", "replay_features", "replay_targets",
    "replay_windows", "responses_undone", "rng/_state_var", "shadow_boost", "shadow_trust",
    "skipped_samples", "steps", "training_counter")


def _own_paths(module) -> set[str]:
    return {p for p in module_variables(module) if not p.startswith(("model/", "optimizer/"))}


def test_checkpoint_paths_and_order_are_the_ones_earlier_stores_hold():
    learner = small_learner()
    disc = learner.nets.discovery.module
    assert _own_paths(disc) == {"input_mean", "input_std", "output_scale", *DISCOVERY}
    assert _own_paths(learner.state) == set(LEARNER_STATE)
    paths = {id(v): p for p, v in module_variables(disc).items()}
    extra = disc.state_variables()[-len(DISCOVERY):]
    assert tuple(paths[id(v)] for v in extra) == DISCOVERY


def test_the_named_models_are_the_variables_under_their_historical_names():
    """The challenger is the wide head's own variables, the incumbent the `shadow_` ones."""
    learner = small_learner()
    disc = learner.nets.discovery.module
    by_path = module_variables(disc)
    r = disc.models
    assert r.challenger.beta is by_path["wide_beta"]
    assert r.incumbent.beta is by_path["shadow_wide_beta"]
    assert r.serve_incumbent is by_path["serve_shadow"]
    pairs = [(r.challenger.stats_a, "stats_a"), (r.challenger.stats_b, "stats_b"),
             (r.challenger.stats_n, "stats_n"), (r.challenger.recent_a, "recent_a"),
             (r.challenger.recent_b, "recent_b"), (r.challenger.recent_n, "recent_n"),
             (r.incumbent.stats_a, "shadow_stats_a"), (r.incumbent.stats_b, "shadow_stats_b"),
             (r.incumbent.stats_n, "shadow_stats_n"), (r.incumbent.recent_a, "shadow_recent_a"),
             (r.incumbent.recent_b, "shadow_recent_b"), (r.incumbent.recent_n, "shadow_recent_n")]
    for var, path in pairs:
        assert var is by_path[path], path
