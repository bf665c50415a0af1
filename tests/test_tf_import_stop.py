"""A stop that lands while TensorFlow is being imported is a stop, not a missing TensorFlow.

freqtrade turns SIGTERM into KeyboardInterrupt. When it lands inside the initialisation of one
of TensorFlow's pybind11 modules, pybind11 reports it as ImportError("initialization failed")
raised from the interrupt. Taken for a missing TensorFlow, the bot ran on without a model and
the stop was lost (a CI run of test_dry_run_processes: the dry-run script's stop reached the
bot during FreqAI's set-up, the log said "TensorFlow is not installed", the bot kept running).
Such an import is made here by a module finder that fails the way pybind11 does."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

import pytest

from self_learning.runtime import runtime_env


class FailingTensorFlow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import tensorflow` raising ImportError, from `cause` if given (pybind11's
    raise_from(e, PyExc_ImportError, "initialization failed"))."""

    def __init__(self, cause: BaseException | None):
        self.cause = cause

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if self.cause is None:
            raise ImportError("No module named 'tensorflow'")
        raise ImportError("initialization failed") from self.cause


@pytest.fixture
def tensorflow_import(monkeypatch):
    def install(cause: BaseException | None) -> None:
        monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
        monkeypatch.setattr(sys, "meta_path", [FailingTensorFlow(cause), *sys.meta_path])
    return install


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SystemExit(2)])
def test_a_stop_inside_the_import_is_raised_as_the_stop(tensorflow_import, stop):
    tensorflow_import(stop)
    with pytest.raises(type(stop)) as raised:
        runtime_env.tensorflow_available()
    assert raised.value is stop


def test_an_import_error_of_its_own_still_means_missing(tensorflow_import):
    tensorflow_import(None)
    assert runtime_env.tensorflow_available() is False
    tensorflow_import(RuntimeError("a broken install"))
    assert runtime_env.tensorflow_available() is False


def test_the_stop_is_found_through_contexts_too():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None
    except ImportError as err:
        assert isinstance(runtime_env.stop_behind(err), KeyboardInterrupt)
    assert runtime_env.stop_behind(ImportError("no")) is None
