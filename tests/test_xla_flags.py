"""XLA_FLAGS the model sets before TensorFlow starts (runtime/runtime_env.py)."""

from __future__ import annotations

import pytest

from self_learning.runtime import runtime_env


@pytest.mark.parametrize(("current", "expected"), [
    ("", "--xla_cpu_multi_thread_eigen=false --xla_cpu_use_fusion_emitters=false "
         "--xla_backend_optimization_level=1"),
    ("--xla_backend_optimization_level=3 --xla_dump_to=/d",
     "--xla_backend_optimization_level=3 --xla_dump_to=/d --xla_cpu_multi_thread_eigen=false "
     "--xla_cpu_use_fusion_emitters=false"),
    (" --xla_cpu_multi_thread_eigen=true  --xla_cpu_use_fusion_emitters=true ",
     "--xla_cpu_multi_thread_eigen=true  --xla_cpu_use_fusion_emitters=true "
     "--xla_backend_optimization_level=1"),
])
def test_xla_flags_add_each_default_the_user_did_not_set(current, expected):
    """Each default flag is appended once, after the user's own flags; a flag the user names
    (with any value) is left as the user set it."""
    assert runtime_env.xla_flags(current) == expected
    assert runtime_env.xla_flags(expected) == expected
