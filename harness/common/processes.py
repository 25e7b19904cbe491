"""Child processes that die with the harness, and a Ctrl-C that reaches only them still stops it.

A builder, a worker or a pip of the harness's must not outlive it: after ``kill -9`` of pytest a
builder left running keeps a core and gigabytes busy. On Linux each child asks the kernel for
SIGKILL when the process that started it dies (``prctl(PR_SET_PDEATHSIG)``), set between fork and
exec; elsewhere children are started as before.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess`` that makes the child die with this process (None where
    the platform has no such request)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def request() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGKILL)

    return request


def stop_if_interrupted(returncode: int | None) -> None:
    """Raise KeyboardInterrupt where a child was killed by SIGINT.

    Children share the harness's process group, so a Ctrl-C in the terminal reaches them too; a
    child killed by SIGINT means the user interrupted the run. The harness normally stops on its
    own KeyboardInterrupt, but Python drops one that lands while a finaliser (``__del__``) or a
    native library's callback runs; this puts it back, so the run stops as pytest does on Ctrl-C
    instead of restarting the worker and going on.
    """
    if returncode == -signal.SIGINT:
        raise KeyboardInterrupt
