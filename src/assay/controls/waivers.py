"""Waivers: an approved, time-limited exception that lets a control that is not met count as met.

A waiver file in `waivers/` names one control and one scope. While it is in
force (its scope is the run's scope and `created <= now < expires`), a
control whose status is not met is reported as `waived`, and a control that
passes stays `pass`. A waiver is identified by the SHA-256 of its canonical
content, so an edited file is a new waiver.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from assay.config import SCOPE_PATTERN
from assay.controls.model import CONTROL_ID
from assay.evidence.records import canonical
from assay.timeutil import format_instant, parse_instant

WAIVERS_DIR = "waivers"
# A run warns about a waiver in force that expires within this many days.
EXPIRY_WARNING_DAYS = 14
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Waiver(BaseModel):
    """One waiver file. `created` and `expires` are stored as RFC 3339 UTC instants."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    control: str = Field(pattern=CONTROL_ID, description="Id of the waived control, e.g. `BK-03`.")
    scope: str = Field(description="Scope the waiver covers, as recorded by `assay run`.")
    justification: str = Field(description="Why the control may be unmet for now.")
    owner: str = Field(description="Who is responsible for the remediation.")
    approver: str = Field(description="Who approved the waiver; must not be the owner.")
    created: str = Field(description="RFC 3339 instant with an offset, or a date (its UTC midnight).")
    expires: str = Field(description="RFC 3339 instant with an offset; the waiver ends at that instant.")
    remediation: str = Field(description="The plan that makes the control pass before `expires`.")

    @field_validator("justification", "owner", "approver", "remediation")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("scope")
    @classmethod
    def _scope_format(cls, value: str) -> str:
        if not re.match(SCOPE_PATTERN, value):
            raise ValueError(
                f"invalid scope {value!r}: a scope is letters, digits, '.', '_' and '-', "
                "starting with a letter or digit, like `scope` in assay.yaml"
            )
        return value

    @field_validator("approver")
    @classmethod
    def _approver_is_not_owner(cls, value: str, info: ValidationInfo) -> str:
        owner = info.data.get("owner")
        if isinstance(owner, str) and owner.strip().casefold() == value.strip().casefold():
            raise ValueError(f"approver {value!r} is also the owner; another person must approve")
        return value

    @field_validator("created")
    @classmethod
    def _created_instant(cls, value: str) -> str:
        if _DATE.match(value.strip()):
            return format_instant(datetime.fromisoformat(value.strip()).replace(tzinfo=UTC))
        try:
            return format_instant(parse_instant(value))
        except ValueError as exc:
            raise ValueError(
                f"{exc}; write an instant with an offset, such as 2026-11-02T09:00:00+02:00, "
                "or a date such as 2026-11-02"
            ) from None

    @field_validator("expires")
    @classmethod
    def _expires_instant(cls, value: str, info: ValidationInfo) -> str:
        if _DATE.match(value.strip()):
            raise ValueError(
                f"expires {value!r} is a date without a time; write the exact instant with an "
                "offset, such as 2027-01-31T18:00:00+02:00"
            )
        try:
            expires = parse_instant(value)
        except ValueError as exc:
            raise ValueError(
                f"{exc}; write an instant with an offset, such as 2027-01-31T18:00:00+02:00"
            ) from None
        created = info.data.get("created")
        if isinstance(created, str) and expires <= parse_instant(created):
            raise ValueError(f"expires {value!r} is not after created ({created})")
        return format_instant(expires)

    @property
    def created_at(self) -> datetime:
        return parse_instant(self.created)

    @property
    def expires_at(self) -> datetime:
        return parse_instant(self.expires)


@dataclass(frozen=True)
class LoadedWaiver:
    """A validated waiver and the file it came from."""

    waiver: Waiver
    source: str

    def definition(self) -> dict[str, Any]:
        """Return the waiver as recorded in the ledger, with UTC instants."""
        return self.waiver.model_dump(mode="json")

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical definition; comments and layout of the file do not change it."""
        return hashlib.sha256(canonical(self.definition())).hexdigest()

    def in_force(self, scope: str, now: datetime) -> bool:
        """Return whether the waiver covers `scope` at `now`: created <= now < expires."""
        waiver = self.waiver
        return waiver.scope == scope and waiver.created_at <= now < waiver.expires_at

    def record_body(self) -> dict[str, Any]:
        """Return the body of the `waiver` ledger record."""
        return {"waiver": self.definition(), "sha256": self.sha256, "file": self.source}

    def summary(self) -> dict[str, Any]:
        """Return what a result record shows about the waiver that applied to it."""
        return {"file": self.source, "expires": self.waiver.expires, "approver": self.waiver.approver}

    def expiry_warning(self, now: datetime) -> str | None:
        """Return a warning when the waiver expires within EXPIRY_WARNING_DAYS of `now`."""
        left = self.waiver.expires_at - now
        if left > timedelta(days=EXPIRY_WARNING_DAYS):
            return None
        days = left.days
        unit = "day" if days == 1 else "days"
        return (
            f"waiver {self.source} for {self.waiver.control} expires in {days} {unit} "
            f"(at {self.waiver.expires})"
        )


def waivers_in_force(
    waivers: Iterable[LoadedWaiver], control_id: str, scope: str, now: datetime
) -> list[LoadedWaiver]:
    """Return the waivers of `control_id` in force for `scope` at `now`, the one to apply first.

    When several are in force, the one that expires last applies, and ties
    go to the first file name.
    """
    found = [w for w in waivers if w.waiver.control == control_id and w.in_force(scope, now)]
    found.sort(key=lambda w: w.source)
    found.sort(key=lambda w: w.waiver.expires_at, reverse=True)
    return found
