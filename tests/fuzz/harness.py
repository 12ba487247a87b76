"""Running a parser on generated input and checking how it fails.

Every parser of outside input must either return its result or raise
CollectorError (collectors) or ConfigError (workspace files) whose message
names the file. Any other exception, a warning or a run longer than
`TIME_LIMIT_SECONDS` fails the test.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.errors import AssayError, CollectorError
from assay.evidence.collectors import available
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.records import canonical

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)

# A parser that needs longer than this on a few kilobytes of input is
# treated as hung. The inputs here are at most about 100 KB.
TIME_LIMIT_SECONDS = 20


class ParserHung(BaseException):
    """Raised by the alarm when a parser exceeds TIME_LIMIT_SECONDS.

    It derives from BaseException so that a parser's `except Exception`
    cannot swallow it.
    """


@contextmanager
def time_limit(seconds: float = TIME_LIMIT_SECONDS) -> Iterator[None]:
    """Raise ParserHung in the main thread when the block runs longer than `seconds`."""

    def expire(signum: int, frame: Any) -> None:
        raise ParserHung(f"parser still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def scratch_workspace() -> Iterator[Path]:
    """Yield an empty directory that is removed afterwards (one per Hypothesis example)."""
    root = Path(tempfile.mkdtemp(prefix="assay-fuzz-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def check_error_names(error: AssayError, names: list[str]) -> None:
    """Assert that the message of `error` names one of the files in `names`."""
    message = str(error)
    assert message.strip(), f"{type(error).__name__} with an empty message"
    assert any(name in message for name in names), (
        f"error does not name the input file ({', '.join(names)}): {message}"
    )
    assert "Traceback" not in message, message


def run_collector(name: str, params: dict[str, Any], files: dict[str, bytes],
                  names: list[str] | None = None) -> Collected | CollectorError:
    """Run collector `name` on `files` written into a fresh workspace and check the outcome.

    Returns the Collected value, whose facts must be canonical JSON, or the
    CollectorError, whose message must name the input (one of `names`, by
    default the `path` parameter).
    """
    collector_class = available()[name]
    parsed = collector_class.Params.model_validate(params)
    expected_names = names if names is not None else [params["path"]]
    with scratch_workspace() as root:
        write_files(root, files)
        context = CollectContext(workspace=root, now=NOW)
        try:
            with time_limit():
                collected = collector_class().collect(parsed, context)
        except CollectorError as error:
            check_error_names(error, expected_names)
            return error
    # The ledger stores facts as RFC 8785 JSON, so a collector must not
    # return NaN, infinities or integers beyond 2**53 - 1.
    canonical(collected.facts)
    for key in collected.absent:
        assert isinstance(key, str)
    return collected


def run_loader(load: Callable[[], Any], names: list[str], errors: tuple[type[BaseException], ...]) -> Any:
    """Call `load` and accept its result or one of `errors` whose message names a file in `names`."""
    try:
        with time_limit():
            return load()
    except errors as error:
        check_error_names(error, names)  # type: ignore[arg-type]
        return error
