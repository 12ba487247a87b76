"""Collector `command`: run a program and record its exit code and output.

The argument list runs without a shell, in its own process group, with a
minimal environment: PATH=/usr/bin:/bin, LANG=C.UTF-8 and only the variables
named in `env_pass`. A timeout or output over `max_output_bytes` kills the
whole group and raises CollectorError. When the program exits, the group is
killed as well, so no process it started outlives the collection, unless
the process moved to a session of its own.

A workspace disables this collector with `allow_command: false` in
assay.yaml, and setting ASSAY_DISABLE_COMMAND in assay's environment to any
value except "" or "0" disables it everywhere. A timeout is a collector
error, so the control is `error`.

Arguments that look like secrets (`--password=...`, `--token VALUE`,
`API_KEY=...`, `https://user:password@host`) are replaced by `***` in
`model_dump` output, which the evidence record's `with` block is made from,
and argv is left out of the parameters' repr. Only the process receives the
raw values. A secret passed through
`env_pass` never reaches the record, and unlike an argument, other local users
cannot read it with `ps`.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import Field, field_serializer, field_validator

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    Fact,
)
from assay.evidence.collectors.json_query import json_safe
from assay.evidence.collectors.jsonload import decode_text, load_strict

DISABLE_VARIABLE = "ASSAY_DISABLE_COMMAND"
BASE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
MAX_OUTPUT_BYTES = 1024 * 1024
REDACTED = "***"
# The end of stderr kept for messages and warnings.
STDERR_TAIL_BYTES = 2048
_READ_CHUNK = 64 * 1024
# How often the read loop checks whether the program has exited, in seconds.
_EXIT_POLL_SECONDS = 0.05

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "credential")
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=", re.DOTALL)
# Matches scheme://user:password@. The password runs to the last @ of the
# argument, so a password containing an unescaped @ is hidden whole.
_URL_PASSWORD = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):\S*@")


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_argv(argv: list[str]) -> list[str]:
    """Return `argv` with values that look like secrets replaced by `***`.

    Hidden: the value of an option whose name contains password, passwd,
    secret, token, key or credential (`--token=X`, or the argument after
    `--token`), the value of a NAME=VALUE assignment whose name contains one
    of those words, and the password of a URL with user:password@.
    """
    redacted: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            redacted.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-"):
            name, sep, _value = arg.partition("=")
            if _is_secret_name(name):
                redacted.append(f"{name}={REDACTED}" if sep else arg)
                hide_next = not sep
                continue
        else:
            assignment = _ASSIGNMENT.match(arg)
            if assignment and _is_secret_name(assignment["name"]):
                redacted.append(f"{assignment['name']}={REDACTED}")
                continue
        redacted.append(_URL_PASSWORD.sub(rf"\g<prefix>:{REDACTED}@", arg))
    return redacted


class CommandParams(CollectorParams):
    argv: list[str] = Field(
        min_length=1,
        repr=False,
        description="Program and arguments, run without a shell. A program without a slash is "
                    "looked up in PATH=/usr/bin:/bin. Arguments that look like secrets are "
                    "recorded as ***; prefer env_pass for secrets.",
    )
    timeout_seconds: float = Field(
        default=60, gt=0, description="Seconds before the program's process group is killed.",
    )
    max_output_bytes: int = Field(
        default=MAX_OUTPUT_BYTES, gt=0,
        description="Largest stdout accepted, in bytes; more is an error, not a truncation.",
    )
    env_pass: list[str] = Field(
        default_factory=list,
        description="Names of environment variables passed to the program, besides PATH and LANG.",
    )
    cwd: str | None = Field(
        default=None, description="Working directory relative to the workspace (default: the workspace).",
    )
    parse: Literal["json", "text", "none"] = Field(
        default="none",
        description="How stdout becomes facts: json (under output), text (as stdout) or none.",
    )

    @field_validator("argv")
    @classmethod
    def _check_program(cls, argv: list[str]) -> list[str]:
        if not argv[0]:
            raise ValueError("argv[0] (the program) is empty")
        if any("\0" in arg for arg in argv):
            raise ValueError("arguments must not contain NUL characters")
        return argv

    @field_validator("env_pass")
    @classmethod
    def _check_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return names

    @field_validator("cwd")
    @classmethod
    def _check_cwd(cls, cwd: str | None) -> str | None:
        if cwd is not None and (PurePosixPath(cwd).is_absolute() or ".." in PurePosixPath(cwd).parts):
            raise ValueError(f"cwd {cwd!r} must be a folder inside the workspace, without '..'")
        return cwd

    @field_serializer("argv")
    def _serialize_argv(self, argv: list[str]) -> list[str]:
        return redact_argv(argv)

    @property
    def redacted_argv(self) -> list[str]:
        """The argument list as recorded, with secrets replaced by ***."""
        return redact_argv(self.argv)

    @property
    def secret_argv_indexes(self) -> tuple[int, ...]:
        """Positions in `argv` whose value is hidden in the record."""
        recorded = self.redacted_argv
        return tuple(i for i, (raw, hidden) in enumerate(zip(self.argv, recorded)) if raw != hidden)


class Command(Collector):
    name = "command"
    version = "1"
    summary = "Run a program without a shell and record its exit code and stdout (text or JSON)."
    Params = CommandParams
    dynamic_facts = False
    facts = (
        Fact(name="exit_code", type="int",
             description="The program's exit status; -N when signal N ended it."),
        Fact(name="stdout", type="str",
             description="stdout decoded as UTF-8, when parse is text."),
        Fact(name="output", type="map",
             description="stdout parsed as JSON, when parse is json (any JSON value)."),
        Fact(name="duration_seconds", type="float", unit="seconds",
             description="Wall-clock time from start to exit."),
    )

    def collect(self, params: CommandParams, context: CollectContext) -> Collected:
        if os.environ.get(DISABLE_VARIABLE, "") not in ("", "0"):
            raise CollectorError(
                f"the command collector is disabled in this workspace ({DISABLE_VARIABLE} is set)"
            )
        if not context.allow_command:
            raise CollectorError(
                "the command collector is disabled in this workspace (allow_command: false in assay.yaml)"
            )
        cwd = _working_directory(context.workspace, params.cwd)
        environment, warnings = _environment(params.env_pass)
        finished = _run(params.argv, cwd, environment, params.timeout_seconds, params.max_output_bytes)
        facts: dict[str, Any] = {
            "exit_code": finished.exit_code,
            "duration_seconds": round(finished.duration, 3),
        }
        absent: dict[str, str] = {}
        display = f"stdout of {params.argv[0]}"
        if params.parse == "text":
            facts["stdout"] = decode_text(finished.stdout, display)
        else:
            absent["stdout"] = f"parse is {params.parse}; set parse: text to record stdout as text"
        if params.parse == "json":
            facts["output"] = _parse_json(finished, display)
        else:
            absent["output"] = f"parse is {params.parse}; set parse: json to parse stdout"
        if finished.exit_code != 0:
            warnings.append(f"{params.argv[0]} exited with code {finished.exit_code}{finished.stderr_note()}")
        artifact = _save_stdout(context, finished.stdout)
        return Collected(facts=facts, artifacts=[artifact], absent=absent, warnings=warnings)


@dataclass
class _Finished:
    exit_code: int
    stdout: bytes
    stderr_tail: bytes
    duration: float

    def stderr_note(self) -> str:
        text = self.stderr_tail.decode("utf-8", errors="replace").strip()
        return f"; stderr ends: {text}" if text else ""


def _working_directory(workspace: Path, cwd: str | None) -> Path:
    root = workspace.resolve()
    if cwd is None:
        return root
    resolved = (root / cwd).resolve()
    if not resolved.is_relative_to(root):
        raise CollectorError("cwd resolves outside the workspace (a symbolic link?)", path=cwd)
    if not resolved.is_dir():
        raise CollectorError("cwd is not a folder in the workspace", path=cwd)
    return resolved


def _environment(names: list[str]) -> tuple[dict[str, str], list[str]]:
    environment = dict(BASE_ENVIRONMENT)
    warnings: list[str] = []
    for name in names:
        if name in os.environ:
            environment[name] = os.environ[name]
        else:
            warnings.append(f"env_pass names {name}, which is not set in assay's environment")
    return environment, warnings


def _run(argv: list[str], cwd: Path, environment: dict[str, str], timeout: float, limit: int) -> _Finished:
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv, cwd=cwd, env=environment, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise CollectorError(
            f"program not found: {argv[0]!r}; give its absolute path, or install it in /usr/bin or /bin"
        ) from exc
    except PermissionError as exc:
        raise CollectorError(f"program {argv[0]!r} is not executable") from exc
    except OSError as exc:
        raise CollectorError(f"cannot start {argv[0]!r}: {exc.strerror}") from exc
    deadline = started + timeout
    try:
        stdout, stderr_tail = _read_output(process, deadline, timeout, limit)
        # A program may close its output and keep running.
        exit_code = process.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired as exc:
        raise CollectorError(f"timed out after {timeout:g} s") from exc
    finally:
        if process.returncode is None:
            _kill_group(process)
            process.wait()
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    return _Finished(exit_code, bytes(stdout), bytes(stderr_tail), time.monotonic() - started)


def _read_output(
    process: subprocess.Popen[bytes], deadline: float, timeout: float, limit: int
) -> tuple[bytearray, bytearray]:
    """Read stdout and stderr until both close, enforcing the deadline and the stdout limit."""
    assert process.stdout is not None and process.stderr is not None
    stdout = bytearray()
    stderr_tail = bytearray()
    exited = False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr_tail)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(process)
                if exited:
                    raise CollectorError(
                        f"timed out after {timeout:g} s: the program exited, but a process it started "
                        "in another session kept its output open"
                    )
                raise CollectorError(f"timed out after {timeout:g} s")
            for key, _events in selector.select(min(remaining, _EXIT_POLL_SECONDS)):
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = key.data
                buffer += chunk
                if buffer is stderr_tail:
                    del buffer[:-STDERR_TAIL_BYTES]
                elif len(buffer) > limit:
                    _kill_group(process)
                    raise CollectorError(
                        f"stdout is larger than max_output_bytes ({limit} bytes); raise "
                        "max_output_bytes or make the program print less"
                    )
            if not exited and _has_exited(process):
                exited = True
                # Processes the program left in its group would keep the pipes open.
                _kill_group(process)
    return stdout, stderr_tail


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    if not hasattr(os, "waitid"):
        # poll() reaps the program, so _kill_group can no longer signal its group.
        return process.poll() is not None
    # WNOWAIT leaves the exit status in place, so the process ID, which is
    # also the group ID, cannot be reused before _kill_group runs.
    result = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return result is not None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # Only valid while the group leader has not been reaped (returncode None).
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _parse_json(finished: _Finished, display: str) -> Any:
    try:
        document = load_strict(finished.stdout, display, expected="JSON on stdout")
    except CollectorError as exc:
        note = ""
        if finished.exit_code != 0:
            note = f" (the program exited with code {finished.exit_code}{finished.stderr_note()})"
        raise CollectorError(exc.reason + note, path=exc.path, location=exc.location) from exc
    try:
        return json_safe(document)
    except ValueError as exc:
        raise CollectorError(f"output contains {exc}", path=display) from exc


def _save_stdout(context: CollectContext, stdout: bytes) -> Path:
    """Write stdout under evidence/tmp so the run can store it as an artifact."""
    folder = context.workspace / "evidence" / "tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix="command-", suffix=".out", delete=False) as handle:
            handle.write(stdout)
    except OSError as exc:
        raise CollectorError(f"cannot save stdout: {exc.strerror}", path=str(folder)) from exc
    return Path(handle.name)
