"""Named fault points for crash tests.

When the environment variable ASSAY_FAULT names a point, the process kills
itself with SIGKILL on reaching it, which is how the test suite proves that a
crash at that moment leaves a ledger that still verifies. Unset, a fault
point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "ASSAY_FAULT"


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL if ASSAY_FAULT equals `name`."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
