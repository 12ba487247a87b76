"""The exception tree of assay and the exit code of each family.

    AssayError                      exit 2 unless a subclass says otherwise
    ├── UsageError                  bad option or argument (2)
    ├── ConfigError                 assay.yaml or a control file is invalid (2)
    │   └── WorkspaceErrors         every problem of a workspace, reported together (2)
    ├── KeyFileError                a signing key is missing, unreadable or too open (2)
    ├── CollectorError              an input could not be read or parsed (3)
    │   └── EvidenceMissing         the input does not exist yet (3; the control is `missing`)
    ├── LedgerError                 the ledger could not be opened or written (2)
    ├── VerificationError           something was altered or signed by an untrusted key (4)
    └── VerificationUnavailable     verification could not be done at all (5)

The CLI catches only AssayError and exits with `exit_code`; when several
apply, 4 wins over all others, then 5, 2, 3 and 1.
"""

from __future__ import annotations

from collections.abc import Sequence


class AssayError(Exception):
    """Root of every error assay reports to its user."""

    exit_code = 2


class UsageError(AssayError):
    """An option or argument is invalid or conflicts with another."""


class ConfigError(AssayError):
    """A workspace file is invalid; the message names file:line:col and field."""


class WorkspaceErrors(ConfigError):
    """Every problem found while loading a workspace, reported at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in the workspace:\n" + "\n".join(self.problems))


class KeyFileError(AssayError):
    """A key file is missing, unreadable, malformed or readable by others."""


class CollectorError(AssayError):
    """An evidence input could not be read or parsed.

    `location` names the place in the file (line, line:col or a JSON path)
    when the problem has one.
    """

    exit_code = 3

    def __init__(self, message: str, *, path: str | None = None, location: str | None = None):
        self.reason = message
        self.path = path
        self.location = location
        where = ""
        if path is not None:
            where = path if location is None else f"{path}:{location}"
            where += ": "
        super().__init__(where + message)


class EvidenceMissing(CollectorError):
    """The input a collector reads does not exist (yet)."""


class LedgerError(AssayError):
    """The ledger could not be opened, read or appended to."""


class VerificationError(AssayError):
    """Verification failed: content was altered, is missing, or has an untrusted signer."""

    exit_code = 4


class VerificationUnavailable(AssayError):
    """Verification could not be done (unreadable key, unsupported pack version)."""

    exit_code = 5
