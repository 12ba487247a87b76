"""The workspace settings file, assay.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assay.sizes import SizeError, parse_size

Category = Literal["security", "availability", "confidentiality", "processing_integrity", "privacy"]
CONFIG_FILE = "assay.yaml"
SCOPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Person(BaseModel):
    """Someone who may sign attestations of manual controls."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    public_key: str = Field(
        min_length=1, description="Ed25519 public key (PEM) of the person, relative to the workspace."
    )
    roles: list[str] = Field(
        default_factory=list,
        description="Roles of the person; a manual control may require one of them.",
    )

    @field_validator("roles")
    @classmethod
    def _roles_not_blank(cls, value: list[str]) -> list[str]:
        for role in value:
            if not role.strip():
                raise ValueError("a role must not be empty")
        return value


class WorkspaceConfig(BaseModel):
    """Settings of one compliance workspace."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(min_length=1, description="Name shown in reports.")
    framework: Literal["soc2"] = "soc2"
    categories: list[Category] = Field(
        default_factory=lambda: ["security"],
        description="Trust Services categories in scope; security is always in.",
    )
    scope: str = Field(
        default="default",
        pattern=SCOPE_PATTERN,
        description="Scope recorded on every ledger record: an environment, tenant or system.",
    )
    ledger: str | None = Field(
        default=None, description="Ledger URL; default sqlite:///evidence/ledger.db in the workspace."
    )
    signing_key: str | None = Field(
        default=None, description="Ed25519 private key (PEM), relative to the workspace."
    )
    trusted_keys: str = Field(
        default="keys/trusted",
        description="Folder of public keys (PEM) whose checkpoint signatures the ledger accepts.",
    )
    reports: str = Field(default="reports", description="Folder that receives audit packs.")
    allow_command: bool = Field(
        default=True,
        description="Whether controls may use the `command` collector, which runs programs.",
    )
    max_input_size: str | int | None = Field(
        default=None,
        description=(
            "Largest evidence file a collector reads whole, in bytes or with a unit (512MiB); "
            "default 256MiB. Streaming collectors take their own max_bytes parameter."
        ),
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Shared thresholds, readable in assertions as `params`."
    )
    people: dict[str, Person] = Field(
        default_factory=dict,
        description="People who attest manual controls, by the name `assay attest --by` takes.",
    )

    @field_validator("max_input_size")
    @classmethod
    def _valid_size(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, bool) or isinstance(value, int) and value <= 0:
            raise ValueError("max_input_size must be a size larger than zero, e.g. 512MiB")
        if isinstance(value, str):
            try:
                parse_size(value)
            except SizeError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def max_input_bytes(self) -> int | None:
        """Return max_input_size in bytes, or None when the setting is absent."""
        if self.max_input_size is None:
            return None
        if isinstance(self.max_input_size, int):
            return self.max_input_size
        return parse_size(self.max_input_size)


LEDGER_ENV = "ASSAY_LEDGER"
DEFAULT_LEDGER = "evidence/ledger.db"
BLOBS_DIR = "evidence/blobs"


def ledger_url(root: Path, config: WorkspaceConfig, option: str | None) -> str:
    """Choose the ledger URL: --ledger, then ASSAY_LEDGER, then assay.yaml, then the default.

    A relative SQLite path is taken relative to the workspace.
    """
    url = option or os.environ.get(LEDGER_ENV) or config.ledger
    if not url:
        return f"sqlite:///{root / DEFAULT_LEDGER}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            return f"sqlite:///{root / relative}"
    return url
