"""CEL assertions: compile once, find the facts they read, evaluate safely.

The `cel` package reports only top-level variable names, so this module
walks the expression's tokens itself to find each dotted fact reference
(`backups.retention_days`, `k6["p(99)"]`). The package also lets a missing
field pass inside `||` (`a.missing || true` is true), so the engine checks
that every referenced fact is present before it evaluates.

Evaluation runs in a separate worker process under a time limit. The `cel`
package (common-expression-language 0.10, a Rust extension) holds the GIL
while it executes, so a watchdog thread could not interrupt it: the worker
is killed instead, and restarted on the next call.
"""

from __future__ import annotations

import atexit
import builtins
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cel

# Caps on expression size, so a control file cannot make compilation or
# evaluation run away.
MAX_EXPRESSION_CHARS = 4096
MAX_NESTING = 32
# Seconds one evaluation may run before it ends as an error. Comprehension
# macros over generated lists (`[1, 2, ...].all(a, [...].all(b, ...))`) can
# otherwise run for minutes.
EVALUATION_TIME_LIMIT = 1.0
# Address space of the worker process, in bytes. An expression that builds a
# huge value fails in the worker, not in assay.
WORKER_MEMORY_LIMIT = 2 * 1024**3
# Seconds allowed for starting the worker process, which imports `cel`.
_WORKER_START_TIMEOUT = 60.0

_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
             "function", "if", "import", "let", "loop", "package", "namespace", "return",
             "var", "void", "while"}
MACROS = {"all", "exists", "exists_one", "map", "filter"}
# Type denotations, as in `type(x) == double`. A name of this set followed by
# `.` or `[` is still read as a variable.
_TYPE_NAMES = {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type",
               "type", "dyn"}
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*)
  | (?P<string>[rR]?[bB]?[rR]?("\"\"\"(?:.|\n)*?\"\"\"|'''(?:.|\n)*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?[uU]?|0[xX][0-9a-fA-F]+[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&|\|\||==|!=|<=|>=|[-+*/%!<>?:.,()\[\]{}])
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    """An expression is invalid; `offset` is the 0-based character where it was found."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.offset = offset
        super().__init__(message)


@dataclass(frozen=True)
class Reference:
    """A dotted path the expression reads, e.g. ("backups", "retention_days")."""

    path: tuple[str, ...]
    offset: int
    guarded: bool = False  # inside has(): presence is the question, not a requirement

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int


def tokenize(expression: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ExpressionError(
                f"invalid CEL: unexpected character {expression[position]!r}", position
            )
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _string_value(token: Token) -> str | None:
    text = token.text
    if text[:1] in "bB" or text[:2].lower() in ("rb", "br"):
        return None
    if text[:1] in "rR":
        text = text[1:]
    quote = text[:3] if text[:3] in ('"""', "'''") else text[:1]
    body = text[len(quote):-len(quote)]
    return body if "\\" not in body else None


def references(expression: str) -> list[Reference]:
    """Return every variable path `expression` reads, in order of appearance.

    A variable bound by a comprehension macro (`list.all(x, ...)`) is left out
    inside that macro's parentheses only, so the same name used after the
    macro is still a reference. Chains inside `has(...)` are marked as guarded.
    """
    tokens = tokenize(expression)
    found: list[Reference] = []
    has_depth: list[int] = []
    # (variable, parenthesis depth of the macro call that binds it)
    macro_scopes: list[tuple[str, int]] = []
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            if has_depth and has_depth[-1] == depth:
                has_depth.pop()
            while macro_scopes and macro_scopes[-1][1] == depth:
                macro_scopes.pop()
            depth -= 1
        elif _opens_macro(tokens, i):
            macro_scopes.append((tokens[i + 3].text, depth + 1))
        bound = {name for name, _ in macro_scopes}
        if token.kind != "ident" or token.text in _RESERVED or token.text in bound:
            i += 1
            continue
        if i > 0 and tokens[i - 1].text == ".":
            i += 1
            continue
        next_text = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if token.text in _TYPE_NAMES and next_text not in (".", "[", "("):
            i += 1
            continue
        if next_text == "(":
            if token.text == "has":
                has_depth.append(depth + 1)
            i += 1
            continue
        path = [token.text]
        j = i + 1
        while j + 1 < len(tokens):
            if tokens[j].text == "." and tokens[j + 1].kind == "ident":
                if j + 2 < len(tokens) and tokens[j + 2].text == "(":
                    break
                path.append(tokens[j + 1].text)
                j += 2
            elif (tokens[j].text == "[" and tokens[j + 1].kind == "string" and j + 2 < len(tokens)
                  and tokens[j + 2].text == "]" and _string_value(tokens[j + 1]) is not None):
                path.append(_string_value(tokens[j + 1]) or "")
                j += 3
            else:
                break
        found.append(Reference(tuple(path), token.offset, guarded=bool(has_depth)))
        i = j
    return found


def _opens_macro(tokens: list[Token], i: int) -> bool:
    """Tell whether tokens[i:] start `.all(x`, `.map(x` or another comprehension macro."""
    return (i + 3 < len(tokens) and tokens[i].text == "." and tokens[i + 1].text in MACROS
            and tokens[i + 2].text == "(" and tokens[i + 3].kind == "ident")


def _nesting(expression: str) -> int:
    deepest = depth = 0
    for token in tokenize(expression):
        if token.text in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif token.text in ")]}":
            depth -= 1
    return deepest


_POSITION = re.compile(r"<input>:(\d+):(\d+)")


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled assertion and the references it reads."""

    source: str
    program: Any
    references: tuple[Reference, ...]


def compile_expression(expression: str) -> CompiledExpression:
    """Compile `expression`, raising ExpressionError with the offending offset."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"expression is {len(expression)} characters, over the {MAX_EXPRESSION_CHARS} limit"
        )
    if _nesting(expression) > MAX_NESTING:
        raise ExpressionError(f"expression nests deeper than {MAX_NESTING} levels")
    try:
        program = cel.compile(expression)
    except (ValueError, RuntimeError) as exc:
        message = str(exc)
        offset = 0
        # The cel package reports some errors at <input>:0:0 before the real
        # position (for some invalid has() arguments), so take the first
        # position that is inside the text.
        positions = [(int(m[1]), int(m[2])) for m in _POSITION.finditer(message)]
        inside = [(line, column) for line, column in positions if line >= 1 and column >= 1]
        if inside:
            line, column = inside[0]
            lines = expression.split("\n")
            offset = sum(len(part) + 1 for part in lines[: line - 1]) + column - 1
            offset = min(offset, len(expression))
        detail = message.split("ERROR: ", 1)[-1].split("\n", 1)[0]
        detail = _POSITION.sub("", detail).lstrip(": ").strip()
        raise ExpressionError(f"invalid CEL: {detail}", offset) from exc
    return CompiledExpression(expression, program, tuple(references(expression)))


def lookup(facts: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any, str]:
    """Follow `path` through nested maps.

    Returns (present, value, missing_prefix): when a key is absent,
    `missing_prefix` is the path up to and including the missing key.
    Descending into a value that is not a map stops the walk there, present.
    """
    value: Any = facts
    for index, key in enumerate(path):
        if not isinstance(value, dict):
            return True, value, ""
        if key not in value:
            return False, None, ".".join(path[: index + 1])
        value = value[key]
    return True, value, ""


def evaluate(
    compiled: CompiledExpression, variables: dict[str, Any], *, time_limit: float | None = None
) -> Any:
    """Evaluate `compiled` over `variables` in the worker process.

    Raises ExpressionError on evaluation errors and when evaluation runs
    longer than `time_limit` seconds (EVALUATION_TIME_LIMIT by default).
    Only the top-level variables the expression reads are sent to the worker.
    """
    limit = EVALUATION_TIME_LIMIT if time_limit is None else time_limit
    names = {ref.path[0] for ref in compiled.references}
    sent = {name: value for name, value in variables.items() if name in names}
    with _worker_lock:
        reply = _worker.run(compiled.source, sent, limit)
    if reply[0] == "ok":
        return reply[1]
    raise ExpressionError(reply[1]) from _cause(reply)


def _cause(reply: tuple[Any, ...]) -> BaseException | None:
    """Rebuild the exception the worker reported as the cause, when it is a builtin one."""
    if len(reply) < 4:
        return None
    kind = getattr(builtins, reply[2], None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        return None
    try:
        return kind(*reply[3])
    except TypeError:
        return None


def _execute(program: Any, variables: dict[str, Any]) -> Any:
    """Run `program`, raising ExpressionError with a one-line detail on evaluation errors."""
    # Besides KeyError, TypeError, ValueError and RuntimeError, the cel package
    # (common-expression-language 0.10) raises ZeroDivisionError, OverflowError
    # (int64 overflow) and IndexError (list index out of range).
    try:
        return program.execute(variables)
    except (ArithmeticError, LookupError, TypeError, ValueError, RuntimeError) as exc:
        detail = str(exc).split(". ", 1)[0]
        if isinstance(exc, KeyError):
            detail = f"no such key {exc.args[0]!r}"
        raise ExpressionError(f"evaluation failed: {detail}") from exc


def _serve() -> None:
    """Serve (source, variables) requests from stdin, replying on stdout, until stdin closes.

    This is the worker process's main function. Each reply is ("ok", value)
    or ("error", message, cause type name, cause args).
    """
    import resource

    limit = int(sys.argv[1])
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass  # NOTE: the hard limit is lower already, or the platform has none.
    requests = Connection(sys.stdin.fileno(), writable=False)
    # Replies go to a duplicate of stdout, and stdout itself is pointed at
    # stderr, so that anything printed in the worker cannot corrupt a reply.
    replies = Connection(os.dup(sys.stdout.fileno()), readable=False)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    programs: dict[str, Any] = {}
    replies.send(("ready",))
    while True:
        try:
            source, variables = requests.recv()
        except EOFError:
            return
        try:
            program = programs.get(source)
            if program is None:
                program = programs[source] = cel.compile(source)
            reply: tuple[Any, ...] = ("ok", _execute(program, variables))
        except ExpressionError as exc:
            # The cause is sent back as its type and arguments, so callers
            # can still tell a KeyError from a ZeroDivisionError.
            cause = exc.__cause__
            reply = ("error", str(exc), type(cause).__name__, cause.args if cause else ())
        except MemoryError:
            reply = ("error", "evaluation failed: out of memory")
        try:
            replies.send(reply)
        except (TypeError, ValueError, AttributeError) as exc:  # pickling failed
            replies.send(("error", f"evaluation failed: result cannot be returned ({exc})"))


# The worker runs `python -c` rather than multiprocessing's "spawn", which
# re-imports the parent's main script and fails in scripts without an
# `if __name__ == "__main__"` guard. "fork" is avoided because it copies
# locks held by other threads.
_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv.pop(2)); "
    "from assay.policies.cel import _serve; _serve()"
)


class _Worker:
    """One evaluation process, started on first use and killed when it runs over its limit."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None

    def _start(self) -> tuple[Connection, Connection]:
        source_root = str(Path(__file__).resolve().parents[2])
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, str(WORKER_MEMORY_LIMIT), source_root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        # Each Connection owns a duplicate of the pipe's descriptor, so that
        # closing it and closing the Popen stream do not close the same one.
        requests = Connection(os.dup(process.stdin.fileno()), readable=False)
        replies = Connection(os.dup(process.stdout.fileno()), writable=False)
        self._process, self._requests, self._replies = process, requests, replies
        if not replies.poll(_WORKER_START_TIMEOUT):
            self.stop()
            raise ExpressionError(
                f"evaluation failed: the CEL worker process did not start within "
                f"{_WORKER_START_TIMEOUT:g} s"
            )
        try:
            replies.recv()
        except EOFError:
            code = process.wait()
            self.stop()
            raise ExpressionError(
                f"evaluation failed: the CEL worker process ended at start (exit code {code})"
            ) from None
        return requests, replies

    def stop(self) -> None:
        process = self._process
        for connection in (self._requests, self._replies):
            if connection is not None:
                connection.close()
        self._process = self._requests = self._replies = None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    def run(self, source: str, variables: dict[str, Any], limit: float) -> tuple[Any, ...]:
        if self._requests is None or self._replies is None:
            requests, replies = self._start()
        else:
            requests, replies = self._requests, self._replies
        try:
            requests.send((source, variables))
        except (TypeError, ValueError, AttributeError) as exc:  # pickling failed
            return ("error", f"evaluation failed: facts cannot be sent to the evaluator ({exc})")
        except OSError:  # the worker ended since the last request
            self.stop()
            requests, replies = self._start()
            requests.send((source, variables))
        if not replies.poll(limit):
            self.stop()
            return ("error", f"evaluation exceeded the time limit of {limit:g} s")
        try:
            return replies.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            code = self._process.wait() if self._process is not None else None
            self.stop()
            return ("error", f"evaluation failed: the CEL worker process ended (exit code {code})")


_worker = _Worker()
_worker_lock = threading.Lock()
atexit.register(_worker.stop)
