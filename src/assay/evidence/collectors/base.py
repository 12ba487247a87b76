"""The collector interface: what a collector declares and what it returns.

A collector reads one kind of tool output and turns it into facts: a small
JSON object whose keys a control's CEL assertions read. It declares its
parameters as a pydantic model and its facts as `Fact` entries, and returns
a `Collected` value naming the files it read so they can be stored as
evidence. Bad input raises CollectorError (with the file and place); an
input that does not exist yet raises EvidenceMissing.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.regular_files import file_kind, open_regular_file

FactType = Literal["int", "float", "number", "str", "bool", "timestamp", "list", "map"]

# Inputs larger than this are rejected before parsing unless assay.yaml sets
# max_input_size; a collector that streams has its own max_bytes parameter.
MAX_INPUT_BYTES = 256 * 1024 * 1024
# The limit of the collector running now: collect_evidence sets it from the
# context, so parsers deep inside a collector read it with input_limit().
_INPUT_LIMIT: ContextVar[int] = ContextVar("assay_input_limit", default=MAX_INPUT_BYTES)


def input_limit() -> int:
    """Return the largest input, in bytes, that collectors read whole in this run."""
    return _INPUT_LIMIT.get()


@contextmanager
def limited_input(limit: int) -> Iterator[None]:
    """Make `limit` the value input_limit() returns inside the block."""
    token = _INPUT_LIMIT.set(limit)
    try:
        yield
    finally:
        _INPUT_LIMIT.reset(token)


class Fact(BaseModel):
    """One fact a collector produces, or a family of them.

    A name with `*` declares a family (`p*_ms` covers `p99_ms` and
    `p99_9_ms`). Keys below a `map` fact are data (suite names, tags), so
    assertions may read any path below it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: FactType
    unit: str | None = None
    description: str

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.name) if "*" in self.name else name == self.name


def fact(name: str, type_: FactType, unit: str | None, description: str) -> Fact:
    """Declare a fact positionally, for the long `facts` tuples of collectors."""
    return Fact(name=name, type=type_, unit=unit, description=description)


class CollectorParams(BaseModel):
    """Base of every collector's parameter model: strict, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PathParams(CollectorParams):
    """Parameters of a collector that reads one file."""

    path: str = Field(description="Input file relative to the workspace; a glob must match exactly one file unless the collector merges several.")


@dataclass
class CollectContext:
    """The workspace, clock and settings a collector may use besides its parameters."""

    workspace: Path
    now: datetime
    # False when assay.yaml sets allow_command: false.
    allow_command: bool = True
    # assay.yaml's max_input_size in bytes.
    max_input_bytes: int = MAX_INPUT_BYTES

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("CollectContext.now must be timezone-aware")


@dataclass
class Collected:
    """A collector's output.

    `facts` must stay inside the JSON domain RFC 8785 handles: no NaN or
    infinities, integers within ±2**53 (larger ones as strings).
    `absent` explains facts the input could not provide ("p(99) not present
    for http_req_duration; available: ..."), so an assertion that reads one
    fails with that reason. `failures` are conditions that fail the control
    on their own (an expected stanza absent), whatever the assertions conclude.
    `observed_at` is when the facts happened (a backup's stop time), or None
    when the input does not say.
    """

    facts: dict[str, Any]
    artifacts: list[Path]
    observed_at: datetime | None = None
    absent: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Collector(ABC):
    """Base class of every collector; subclasses register under `assay.collectors`."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    summary: ClassVar[str]
    Params: ClassVar[type[CollectorParams]] = PathParams
    facts: ClassVar[tuple[Fact, ...]]

    @abstractmethod
    def collect(self, params: Any, context: CollectContext) -> Collected:
        """Read the input named by `params` and return its facts."""

    # True for collectors whose facts the control chooses (a JMESPath query,
    # a command's JSON output), so `assay lint` cannot check their names.
    dynamic_facts: ClassVar[bool] = False

    @classmethod
    def fact_names(cls) -> list[str]:
        """Return the declared fact names, families included as patterns."""
        return [fact.name for fact in cls.facts]

    @classmethod
    def declared(cls, name: str) -> Fact | None:
        """Return the declaration covering the top-level fact `name`, or None."""
        return next((fact for fact in cls.facts if fact.matches(name)), None)


def resolve_input(workspace: Path, pattern: str) -> list[Path]:
    """Resolve a workspace-relative file name or glob to existing files, sorted.

    Folders that a glob matches are skipped. Raises CollectorError when a
    match lies outside the workspace or is neither a regular file nor a
    folder (a FIFO, socket or device, whose reads could block for ever), and
    EvidenceMissing when nothing matches.
    """
    root = workspace.resolve()
    if Path(pattern).is_absolute():
        candidates = sorted(glob.glob(pattern, recursive=True))
    else:
        candidates = sorted(glob.glob(str(root / pattern), recursive=True))
    files: list[Path] = []
    for candidate in candidates:
        resolved = Path(candidate).resolve()
        if not resolved.is_relative_to(root):
            raise CollectorError(
                "input resolves outside the workspace; keep evidence inputs inside it",
                path=pattern,
            )
        try:
            mode = resolved.stat().st_mode
        except OSError:
            # A dangling symbolic link or a file removed since the glob: not a match.
            continue
        if stat.S_ISREG(mode):
            files.append(resolved)
        elif not stat.S_ISDIR(mode):
            name = relative_name(root, resolved)
            subject = "is" if name == pattern else f"matches {name}, which is"
            raise CollectorError(
                f"{subject} a {file_kind(mode)}, not a regular file; point the collector at a regular file",
                path=pattern,
            )
    if not files:
        raise EvidenceMissing("no such file, so there is no evidence yet", path=pattern)
    return files


def resolve_single_input(workspace: Path, pattern: str) -> Path:
    """Resolve `pattern` to exactly one file; several matches are a CollectorError."""
    files = resolve_input(workspace, pattern)
    if len(files) > 1:
        names = ", ".join(relative_name(workspace, f) for f in files[:5])
        raise CollectorError(
            f"matches {len(files)} files ({names}); this collector reads one file, so name it exactly",
            path=pattern,
        )
    return files[0]


def read_input_bytes(path: Path, display: str, limit: int | None = None) -> bytes:
    """Read a whole regular input file, rejecting one larger than `limit` bytes.

    Without `limit`, the run's input_limit() applies, which assay.yaml's
    max_input_size raises.
    """
    if limit is None:
        limit, hint = input_limit(), "; raise max_input_size in assay.yaml to read it"
    else:
        hint = ""
    with open_regular_file(path, display) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise CollectorError(
                    f"input is {size} bytes, over the {limit}-byte limit for this format{hint}",
                    path=display,
                )
            # Reading one byte past the limit catches a file that grew after fstat.
            data = handle.read(limit + 1)
        except OSError as exc:
            raise CollectorError(f"cannot read input: {exc.strerror}", path=display) from exc
    if len(data) > limit:
        raise CollectorError(
            f"input is over the {limit}-byte limit for this format{hint}", path=display
        )
    return data


def relative_name(workspace: Path, path: Path) -> str:
    """Return `path` relative to the workspace, with forward slashes."""
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
