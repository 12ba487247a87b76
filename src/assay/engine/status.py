"""Control statuses and how they combine."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A control's status; see the README's table for what each means."""

    PASS = "pass"
    WAIVED = "waived"
    FAIL = "fail"
    ERROR = "error"
    MISSING = "missing"
    MANUAL = "manual"
    NOT_APPLICABLE = "not_applicable"


# Worst first: a control takes the worst status among its evidence and assertions.
SEVERITY = [Status.ERROR, Status.FAIL, Status.MISSING, Status.MANUAL, Status.PASS]
MET = frozenset({Status.PASS, Status.WAIVED})


def worst(statuses: list[Status]) -> Status:
    """Return the worst of `statuses` (pass for an empty list)."""
    for status in SEVERITY:
        if status in statuses:
            return status
    return Status.PASS
