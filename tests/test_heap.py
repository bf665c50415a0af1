"""HeapTrimmer: trims at most once per interval, and is a no-op without a C library trim."""

from self_learning.runtime.heap import HeapTrimmer, glibc_malloc_trim


def test_trims_at_most_once_per_interval():
    """Calls inside the interval are skipped; the first call after it trims again."""
    now, calls = [100.0], []
    trimmer = HeapTrimmer(60, trim=lambda: calls.append(now[0]), clock=lambda: now[0])
    assert trimmer.maybe_trim()
    now[0] = 159.0
    assert not trimmer.maybe_trim()
    now[0] = 160.0
    assert trimmer.maybe_trim()
    assert calls == [100.0, 160.0] and trimmer.trims == 2


def test_glibc_trim_runs_here_and_nothing_happens_without_it(monkeypatch):
    """On this Linux/glibc machine the real malloc_trim is found and runs; where no C library
    can be found (macOS, musl: cannot exist here, so find_library is patched) nothing trims."""
    trim = glibc_malloc_trim()
    assert trim is not None and trim() in (0, 1)
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    assert glibc_malloc_trim() is None
    assert not HeapTrimmer(0).maybe_trim()
