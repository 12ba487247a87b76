"""Control files as strict pydantic models."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
CONTROL_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
CRITERION = r"^(CC[1-9]\.[0-9]+|A1\.[0-9]+|C1\.[0-9]+|PI1\.[0-9]+|P[1-8]\.[0-9]+)$"
_DURATION = re.compile(r"^(?P<value>[0-9]+)(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int:
    """Parse a duration such as `90s`, `30m`, `26h`, `7d` or `2w` into seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r}; write a number and a unit: 90s, 30m, 26h, 7d, 2w")
    return int(match["value"]) * _UNIT_SECONDS[match["unit"]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EvidenceSpec(_Strict):
    """One evidence source of a control."""

    id: str = Field(pattern=IDENTIFIER, description="Name of the facts in assertions, e.g. `backups`.")
    collector: str = Field(description="Registered collector name, e.g. `pgbackrest.info`.")
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="Parameters passed to the collector."
    )


class Assertion(_Strict):
    """A named CEL expression that must be true."""

    name: str = Field(min_length=1, description="What the assertion checks, in words.")
    expr: str = Field(min_length=1, description="CEL expression over evidence ids and `params`.")


class Manual(_Strict):
    """Attestation settings of a control that a person attests instead of evidence being collected."""

    attestation_every: str = Field(
        description="An attestation stays in force this long after it is signed, e.g. `365d`."
    )
    role: str | None = Field(
        default=None, min_length=1,
        description="Role (from `people` in assay.yaml) the attesting person must hold.",
    )

    @field_validator("attestation_every")
    @classmethod
    def _every_format(cls, value: str) -> str:
        if duration_seconds(value) <= 0:
            raise ValueError(f"attestation_every must be longer than zero, got {value!r}")
        return value

    @property
    def attestation_every_seconds(self) -> int:
        return duration_seconds(self.attestation_every)


class Control(_Strict):
    """A control: the evidence it needs and the assertions that evidence must satisfy."""

    id: str = Field(pattern=CONTROL_ID, description="Control id, e.g. `AV-03`.")
    title: str = Field(min_length=1)
    description: str | None = None
    criteria: list[str] = Field(
        min_length=1, description="SOC 2 Trust Services Criteria ids, e.g. `A1.2`."
    )
    owner: str | None = None
    policies: list[str] = Field(default_factory=list)
    evidence: list[EvidenceSpec] = Field(default_factory=list)
    max_age: str | None = Field(
        default=None, description="Evidence observed longer ago than this is stale, e.g. `26h`."
    )
    assert_: list[Assertion] = Field(default_factory=list, alias="assert")
    gate: Literal["fail", "warn"] = "fail"
    not_applicable: str | None = Field(
        default=None, description="Justification for excluding the control from scope."
    )
    remediation: str | None = Field(
        default=None, description="What to do when the control is not met; recorded in its results."
    )
    manual: Manual | None = Field(
        default=None,
        description="Set for a control that a person attests instead of evidence being collected.",
    )

    @field_validator("criteria")
    @classmethod
    def _criteria_format(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.match(CRITERION, item):
                raise ValueError(f"{item!r} is not a SOC 2 criterion id such as CC6.1 or A1.2")
        return value

    @field_validator("max_age")
    @classmethod
    def _max_age_format(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @property
    def max_age_seconds(self) -> int | None:
        return None if self.max_age is None else duration_seconds(self.max_age)

    def definition(self) -> dict[str, Any]:
        """Return the control as recorded in the ledger: every field, keyed by its name in the file.

        `manual` is left out when unset, so the definitions (and their
        hashes) of controls recorded before the field existed stay the same.
        """
        definition = self.model_dump(mode="json", by_alias=True)
        if definition.get("manual") is None:
            definition.pop("manual", None)
        return definition
