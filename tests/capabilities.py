"""Run a block as an ordinary user would, as far as file permissions go, even as root.

Root reads a `chmod 000` folder anyway (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). Linux keeps
capabilities per thread: `without_permission_override()` clears those two from the calling
thread's effective set (the permitted set keeps them) and restores them on exit, so the kernel
really refuses the read inside the block. Threads started inside inherit the reduced set.
A no-op for a user without those capabilities.
"""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager

_LIBC = ctypes.CDLL(None, use_errno=True)
_SYSCALLS = {"x86_64": (125, 126), "aarch64": (90, 91)}  # capget, capset
_VERSION_3 = 0x20080522
_DAC = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _call(number: int, data) -> None:
    header = _Header(_VERSION_3, 0)  # pid 0: the calling thread
    if _LIBC.syscall(number, ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget/capset failed")


@contextmanager
def without_permission_override():
    capget, capset = _SYSCALLS[os.uname().machine]
    data = (_Data * 2)()
    _call(capget, data)
    saved = data[0].effective
    data[0].effective = saved & ~_DAC
    _call(capset, data)
    try:
        yield
    finally:
        data[0].effective = saved
        _call(capset, data)
