"""The per-process runtime of the model: the learners of all pairs and what keeps them safe.

lifecycle.py (SelfLearningRuntime: serves fit and predict), learner_registry.py (each pair's
learner, restored or created on first use), save_scheduler.py (when each pair is saved; the
writes at shutdown and exit), autosave.py (BackgroundSaver), save_ledger.py (which changes of
a pair were handed over and landed), pair_writer.py (what one save writes: a pair's snapshot
as a version), restoring.py (which stored version a pair restores from), run_stores.py (which
store a run mode learns into), guards.py (per-pair notices, no NaN saved), heap.py
(malloc_trim), prediction_history.py (what the model said per recent candle of a pair),
runtime_env.py (optional-dependency checks: runs without TensorFlow), stop_guard.py (a
trading bot's SIGTERM never lost, a second one never cutting the shutdown save short).
"""
