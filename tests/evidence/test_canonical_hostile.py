"""Hostile and unlucky inputs for canonical(), the compiled walk, ChainBuilder and the ledger insert.

Tests that could crash the interpreter run their script in a subprocess, so
a crash fails one test instead of ending the session.
"""

from __future__ import annotations

import enum
import math
import subprocess
import sys
import tempfile
import textwrap
from collections import OrderedDict
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.evidence import ledger as ledger_module
from assay.evidence import records
from assay.evidence.ledger import Ledger, NewRecord, verify_chain
from assay.evidence.records import MAX_SAFE_INTEGER
from evidence.test_canonical import _walk_params, assert_encodes_like_reference, each_walk

REPO = Path(__file__).resolve().parents[2]
HEX = "0123456789abcdef"
PREV = "ab" * 32
TIME = "2026-12-05T01:30:00.000000Z"


compiled_walk_only = pytest.mark.parametrize(
    "walk", [param for param in _walk_params() if param.id == "compiled"]
)


def _outcome(function, *args, **kwargs):
    """Return ("ok", result) or ("raised", exception type name)."""
    try:
        return ("ok", function(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return ("raised", type(exc).__name__)


def _run_script(script: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True,
        text=True, timeout=timeout,
    )


# --- Floats and integers at the boundaries of the fast path ---------------------------------


def _neighbours(base: float, count: int = 40) -> list[float]:
    found = [base]
    up = down = base
    for _ in range(count):
        up = math.nextafter(up, math.inf)
        down = math.nextafter(down, 0.0)
        found += [up, down]
    return found + [-x for x in found]


BOUNDARY_FLOATS = [
    x for base in (1e-4, 1e-5, 1e-6, 1e-7, 2.0**53, 2.0**52, 1e15, 1e16, 1e21, 1e20,
                   5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.5, 1.0)
    for x in _neighbours(base)
] + [0.0, -0.0]


@each_walk
def test_floats_next_to_format_boundaries_match_rfc8785(walk):
    for number in BOUNDARY_FLOATS:
        # The neighbours of the largest double include infinity, which both reject.
        assert_encodes_like_reference(walk, [number])
        assert_encodes_like_reference(walk, {"k": number})


@each_walk
@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-8, max_value=1e22) | st.floats(max_value=-1e-8, min_value=-1e22))
def test_plain_range_floats_match_rfc8785(walk, number):
    assert records._canonicalise({"x": [number]}, walk) == rfc8785.dumps({"x": [number]})


@each_walk
def test_integers_at_the_safe_limit(walk):
    for number in (MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1,
                   2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**400, -(10**400), 0):
        assert_encodes_like_reference(walk, number)
        assert_encodes_like_reference(walk, [number])
        assert_encodes_like_reference(walk, {"k": number})


@each_walk
def test_bools_stay_bools(walk):
    assert records._canonicalise([True, False, 1, 0, 1.0, 0.0], walk) == b"[true,false,1,0,1,0]"
    assert records._canonicalise({"t": True, "o": 1}, walk) == b'{"o":1,"t":true}'


# --- Subclasses, enum members and hostile objects -------------------------------------------


class Level(enum.IntEnum):
    HIGH = 3


class Flags(enum.IntFlag):
    A = 1
    B = 2


class Colour(str, enum.Enum):
    RED = "red"


class Mood(enum.StrEnum):
    CALM = "calm"


class Plain(enum.Enum):
    ONE = 1


class Text(str):
    def __str__(self) -> str:
        return "not the value"


class Whole(int):
    def __repr__(self) -> str:
        return "99"


class Real(float):
    def __repr__(self) -> str:
        return "1e400"


class Listy(list):
    def __iter__(self):
        return iter([1, 2, 3])


class Mapping(dict):
    def items(self):
        return [("zz", 1)]


class HostileKey:
    def __hash__(self) -> int:
        return hash("k")

    def __eq__(self, other: object) -> bool:
        return True


HOSTILE_VALUES = [
    Level.HIGH, [Level.HIGH], {"k": Level.HIGH}, Flags.A | Flags.B, Colour.RED, {"c": Colour.RED},
    {Colour.RED: 1}, Mood.CALM, {Mood.CALM: [Mood.CALM]}, Plain.ONE, Text("v"), {Text("k"): 1},
    {"k": Text("v")}, Whole(5), [Whole(2**60)], Real(2.0), [Real(0.1)], Listy([9]),
    Mapping({"a": 2.0}), {"n": {HostileKey(): 1}}, {1: 1, "1": 2}, {None: 1}, {True: 1},
    {(1, 2): 3}, {"a": {1, 2}}, {"b": frozenset()}, {"c": b"x"}, {"d": bytearray(b"x")},
    {"e": 1 + 2j}, OrderedDict([("b", 2.0), ("a", 1)]), ((1.0,), [2.0], {"x": (3.0,)}),
    {"\x00": "\x00", "\x00a": 1, "": 0}, {"\ud800": 1}, ["\udfff"], {"k": "a\ud83d"},
]


@each_walk
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_hostile_objects_match_rfc8785(walk, value):
    # Both walks accept exact built-in types only, so each of these goes to
    # rfc8785 or gives the bytes rfc8785 gives.
    assert _outcome(records._canonicalise, value, walk)[0] == _outcome(rfc8785.dumps, value)[0]
    assert_encodes_like_reference(walk, value)


# --- Strings and keys -------------------------------------------------------------------------


BMP = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]


@each_walk
def test_bmp_characters_match_rfc8785(walk):
    values = BMP
    keys = {c: i for i, c in enumerate(reversed(BMP))}
    assert records._canonicalise(values, walk) == rfc8785.dumps(values)
    assert records._canonicalise(keys, walk) == rfc8785.dumps(keys)


@each_walk
def test_keys_beyond_the_bmp_sort_by_utf16(walk):
    value = {"\uffff": 1, "\U00010000": 2, "\ue000": 3, "\ud7ff": 4, "\U0010ffff": 5,
             "a\U0001f600": 6, "a\uffff": 7, "a": 8, "\U0001f600": {"\uff61": 9, "\U0001f601": 10}}
    assert records._canonicalise(value, walk) == rfc8785.dumps(value)
    # A key beyond the BMP nested below keys that need nothing.
    nested = {"a": [{"b": {"\U00010000": 1, "\uffff": 2}}]}
    assert records._canonicalise(nested, walk) == rfc8785.dumps(nested)


key_text = st.text(
    alphabet=st.sampled_from(["a", "\x00", "\x1f", "\x7f", '"', "\\", "%", "\ud7ff", "\ue000",
                              "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "\u2028"])
    | st.characters(exclude_categories=()),
    max_size=6,
)
scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -0.0, 1e-4,
                       1e-5, 1e-6, 2.0**53, 1e16, 1e21, 5e-324, math.nan, math.inf])
    | st.floats() | key_text
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(key_text, children, max_size=4),
    max_leaves=20,
)


@each_walk
@settings(max_examples=300, deadline=None)
@given(values)
def test_hostile_json_values_match_rfc8785(walk, value):
    assert_encodes_like_reference(walk, value)


# --- Cycles and deep nesting ------------------------------------------------------------------


@each_walk
def test_cyclic_values_raise_recursion_error(walk):
    # rfc8785 recurses on a cycle, so canonical() raises RecursionError, as
    # json.loads does on deep input. Callers that read outside data catch it.
    looped_list: list = []
    looped_list.append(looped_list)
    looped_dict: dict = {}
    looped_dict["k"] = [1.0, looped_dict]
    for value in (looped_list, looped_dict, {"a": [looped_list]}):
        with pytest.raises(RecursionError):
            records._canonicalise(value, walk)


@each_walk
@pytest.mark.parametrize("depth", [255, 256, 900, 2000, 100_000])
def test_deep_nesting_matches_rfc8785_outcome(walk, depth):
    nested_list: object = 2.0
    nested_dict: object = 2.0
    for _ in range(depth):
        nested_list = [nested_list]
        nested_dict = {"k": nested_dict}
    for value in (nested_list, nested_dict):
        reference = _outcome(rfc8785.dumps, value)
        produced = _outcome(records._canonicalise, value, walk)
        assert produced == reference


def test_deep_nesting_does_not_crash_the_interpreter():
    # The compiled walk recurses in C, so a crash would end the process.
    result = _run_script("""
        import threading
        from assay.evidence import records
        value = 1.0
        for _ in range(200_000):
            value = [value, {"k": value}] if _ < 30 else [value]
        for _ in range(3):
            try:
                records.canonical(value)
            except RecursionError:
                pass
        def small_stack():
            nested = 1.0
            for _ in range(250):
                nested = {"k": [nested]}
            assert records.canonical(nested).startswith(b'{"k":[{"k":')
        threading.stack_size(256 * 1024)
        thread = threading.Thread(target=small_stack)
        thread.start()
        thread.join()
        print("done")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


# --- Values changed while the walk runs -------------------------------------------------------

# The script makes a garbage cycle whose finalizer changes the value being
# walked. It then lowers the collection threshold, so that the finalizer
# runs at one of the first allocations of the walk, such as the copy of a
# container that contains an integral float. Each pass of the loop moves that
# point by one allocation.
_MUTATED_DURING_WALK = """
    import gc, sys, threading
    from assay.evidence import records
    walk = records._walk.prepare if sys.argv[1] == "compiled" else records._prepare_python
    mutation = sys.argv[2]
    for extra in range(10):
        outer = [2.0, [3.0]] + [1] * 50
        target = {"a": [2.0], "b": [3.0], "c": 1}
        release, cleared = threading.Event(), threading.Event()

        def clear_from_thread():
            release.wait()
            outer.clear()
            cleared.set()

        helper = threading.Thread(target=clear_from_thread)
        helper.start()

        class Finalised:
            def __init__(self):
                self.cycle = self

            def __del__(self):
                if mutation == "list":
                    outer.clear()
                elif mutation == "thread":
                    release.set()
                    cleared.wait(5)
                else:
                    target.clear()
                    target.update({str(n): [n + 0.0] for n in range(100)})

        gc.collect()
        gc.disable()
        Finalised()
        gc.set_threshold(gc.get_count()[0] + extra)
        gc.enable()
        try:
            records._canonicalise(target if mutation == "dict" else outer, walk)
        except (IndexError, ValueError, RuntimeError):
            pass
        finally:
            gc.set_threshold(700, 10, 10)
            release.set()
            helper.join()
    print("done")
"""


def _walk_with_mutation(walk_name: str, mutation: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MUTATED_DURING_WALK), walk_name, mutation],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )


@pytest.mark.parametrize("mutation", ["list", "thread", "dict"])
def test_python_walk_survives_mutation(mutation):
    result = _walk_with_mutation("python", mutation)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


@pytest.mark.skipif(not records.COMPILED_WALK, reason="compiled walk not built")
def test_compiled_walk_survives_dict_mutation():
    # In CPython 3.11 a finaliser that replaces a dict's contents while
    # PyDict_Copy copies it leaves the copy inconsistent (`d.copy()` in plain
    # Python crashes the same way), and the next store into the copy crashes
    # the interpreter (SIGSEGV, return code -11). The compiled walk keeps the
    # collector off, so no finaliser runs during its copy.
    result = _walk_with_mutation("compiled", "dict")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


@pytest.mark.skipif(not records.COMPILED_WALK, reason="compiled walk not built")
@pytest.mark.parametrize("mutation", ["list", "thread"])
def test_compiled_walk_survives_list_emptied(mutation):
    # A finaliser run by a collection inside the walk, or another thread that
    # it lets run, empties the list. PySequence_Fast_GET_ITEM does not check
    # bounds, so a walk that read the size only once would dereference a NULL
    # item array and crash the interpreter (SIGSEGV, return code -11).
    result = _walk_with_mutation("compiled", mutation)
    assert result.returncode == 0, f"return code {result.returncode}: {result.stderr[-500:]}"
    assert result.stdout.strip() == "done"


def test_thread_mutation_does_not_crash():
    # Without finalizers, the other thread runs only between the bytecodes
    # of canonical(), so each walk reads the value in one state.
    result = _run_script("""
        import json, sys, threading, time
        from assay.evidence import records
        sys.setswitchinterval(1e-6)
        shared = {"a": [1.0, 2.5, {"b": 3.0}], "c": "x", "d": [[4.0]] * 5}
        stop = threading.Event()

        def mutate():
            n = 0
            while not stop.is_set():
                n += 1
                shared["k%d" % (n % 50)] = [n + 0.5, {"f": float(n)}]
                shared.pop("k%d" % ((n + 25) % 50), None)
                shared["a"].append(n + 0.0)
                if len(shared["a"]) > 40:
                    del shared["a"][3:]

        thread = threading.Thread(target=mutate)
        thread.start()
        deadline = time.monotonic() + 0.5
        count = 0
        try:
            while time.monotonic() < deadline:
                try:
                    json.loads(records.canonical(shared))
                except (RuntimeError, IndexError, ValueError):
                    pass
                count += 1
        finally:
            stop.set()
            thread.join()
        print("done", count > 0)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done True"


@compiled_walk_only
def test_nested_change_during_walk_stays_canonical(walk):
    # A walk leaves unchanged containers shared with the caller's value, and
    # orjson writes them after the walk checked them. A finaliser that ran
    # during the walk's copy of "b" could put 5.0 into "a", which the walk
    # had passed, and orjson would write "5.0", no RFC 8785 form of either
    # state of the value. The compiled walk turns the collector off, so no
    # finaliser runs. The Python walk is left out: it allocates as it goes
    # and does not touch the collector, which is process-wide state.
    import gc

    thresholds = gc.get_threshold()
    outcomes = set()
    for extra in range(12):
        inner = {"n": 1}
        value = {"a": inner, "b": [2.0]}

        class Finalised:
            def __init__(self) -> None:
                self.cycle = self

            def __del__(self) -> None:
                inner["n"] = 5.0

        gc.collect()
        gc.disable()
        Finalised()
        gc.set_threshold(gc.get_count()[0] + extra)
        gc.enable()
        try:
            produced = records._canonicalise(value, walk)
        finally:
            gc.set_threshold(*thresholds)
            gc.collect()
        outcomes.add(produced)
    assert outcomes <= {b'{"a":{"n":1},"b":[2]}', b'{"a":{"n":5},"b":[2]}'}


# --- ChainBuilder -----------------------------------------------------------------------------


def _reference_chain(seq, prev, run, scope, time, adds):
    """What build_encoded_record gives for each add, as ("ok", record) or ("raised", message)."""
    out = []
    for kind, body in adds:
        try:
            record = records.build_encoded_record(
                seq=seq + 1, prev=prev, time=time, run=run, scope=scope, kind=kind, body_bytes=body)
        except ValueError as exc:
            out.append(("raised", str(exc)))
            continue
        seq, prev = seq + 1, record.hash
        out.append(("ok", record))
    return out


def _builder_chain(seq, prev, run, scope, time, adds):
    builder = records.ChainBuilder(seq=seq, prev=prev, run=run, scope=scope, time=time)
    out = []
    for kind, body in adds:
        try:
            out.append(("ok", builder.add(kind, body)))
        except ValueError as exc:
            out.append(("raised", str(exc)))
    return out


ODD_STRINGS = [
    "", "%", "%s", "%d", "%%", "%%s", "%(run)s", "%-5d%", "100%", '"', "\\", '\\"', "\x00", "\x1f",
    "\x7f", "\u2028", "\n\r\t\b\f", "\U0001f600", "\U0010ffff", "\ud800", "a\udfffb", "</script>",
    "'", "{}", '","v":2,"x":"', "%" * 50, "é" * 3, "\ufeff", "x" * 300,
]


@pytest.mark.parametrize("text", ODD_STRINGS, ids=repr)
@pytest.mark.parametrize("field", ["run", "scope", "time"])
def test_chain_builder_odd_strings(field, text):
    fields = {"run": "r", "scope": "s", "time": TIME, field: text}
    adds = [("run", b"{}"), ("evidence", b'{"a":"%s"}'), ("checkpoint", b"")]
    assert _builder_chain(0, records.GENESIS_PREV, **fields, adds=adds) == _reference_chain(
        0, records.GENESIS_PREV, **fields, adds=adds)


@pytest.mark.parametrize("seq", [0, -1, -2, 1, MAX_SAFE_INTEGER - 2, MAX_SAFE_INTEGER - 1,
                                 MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER - 1,
                                 2**63, True, False, 1.0, Level.HIGH])
def test_chain_builder_seq_edges(seq):
    adds = [("evidence", b"{}")] * 3
    assert _builder_chain(seq, PREV, "r", "s", TIME, adds) == _reference_chain(
        seq, PREV, "r", "s", TIME, adds)


@pytest.mark.parametrize("prev", [PREV.upper(), PREV[:-1], PREV + "0", PREV + "\n", "%s" * 32,
                                  '"' * 64, "", None, 0, PREV.encode(), "g" * 64,
                                  "\u0660" * 64])
def test_chain_builder_unusual_prev(prev):
    adds = [("evidence", b"{}"), ("result", b"[]")]
    assert _builder_chain(4, prev, "r", "s", TIME, adds) == _reference_chain(
        4, prev, "r", "s", TIME, adds)


@pytest.mark.parametrize("value", [None, 5, 1.5, ["r"], {"r": 1}, Colour.RED, Mood.CALM,
                                   Text("r"), b"r", 2**60], ids=repr)
@pytest.mark.parametrize("field", ["run", "scope", "time"])
def test_chain_builder_non_str_fields(field, value):
    fields = {"run": "r", "scope": "s", "time": TIME, field: value}
    adds = [("evidence", b"{}"), ("evidence", b"{}")]
    assert _builder_chain(3, PREV, **fields, adds=adds) == _reference_chain(
        3, PREV, **fields, adds=adds)


def test_chain_builder_bad_kind():
    adds = [("evidence", b"{}"), ("nope", b"{}"), ("%s", b"{}"), ("", b"{}"), ("result", b"{}")]
    assert _builder_chain(0, PREV, "r", "s", TIME, adds) == _reference_chain(
        0, PREV, "r", "s", TIME, adds)
    builder = records.ChainBuilder(seq=0, prev=PREV, run="r", scope="s", time=TIME)
    with pytest.raises(TypeError):
        builder.add(["run"], b"{}")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        records.build_encoded_record(seq=1, prev=PREV, time=TIME, run="r", scope="s",
                                     kind=["run"], body_bytes=b"{}")  # type: ignore[arg-type]


class Kind(str, enum.Enum):
    EVIDENCE = "evidence"


class OwnStr(str):
    def __str__(self) -> str:
        return "checkpoint"


class EqualsRun:
    def __hash__(self) -> int:
        return hash("run")

    def __eq__(self, other: object) -> bool:
        return other == "run"


@pytest.mark.parametrize("kind", [Kind.EVIDENCE, OwnStr("evidence"), EqualsRun()],
                         ids=["str-enum", "str-subclass-with-own-str", "object-equal-to-run"])
def test_chain_builder_non_str_kind(kind):
    # A `(str, Enum)` member is in KINDS, but the template's %s would call
    # str(), which gives "Kind.EVIDENCE", where build_encoded_record writes
    # "evidence" (or rejects the object).
    adds = [(kind, b"{}")]
    assert _builder_chain(0, PREV, "r", "s", TIME, adds) == _reference_chain(
        0, PREV, "r", "s", TIME, adds)


header_text = st.lists(
    st.sampled_from(["%", "s", "d", "%s", "%%", '"', "\\", "\x00", "\x1f", "\U0001f600", "\ud800",
                     "a", " "]) | st.characters(exclude_categories=()),
    max_size=12,
).map("".join)
field_values = header_text | st.integers() | st.none() | st.floats(allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.sampled_from([0, -1, MAX_SAFE_INTEGER - 1, MAX_SAFE_INTEGER, True])
    | st.integers(min_value=-5, max_value=10**6),
    prev=st.text(alphabet=HEX, min_size=64, max_size=64)
    | st.text(alphabet=HEX + "G%\"", min_size=63, max_size=65),
    run=field_values, scope=field_values, time=field_values,
    adds=st.lists(
        st.tuples(st.sampled_from(sorted(records.KINDS) + ["bogus", "%s"]), st.binary(max_size=8)),
        max_size=4,
    ),
)
def test_chain_builder_generated_inputs(seq, prev, run, scope, time, adds):
    assert _builder_chain(seq, prev, run, scope, time, adds) == _reference_chain(
        seq, prev, run, scope, time, adds)


# --- Ledger insert through SQLite -------------------------------------------------------------


def _assert_ledger_matches_reference(opened: Ledger) -> None:
    verify_chain(opened.records(), lambda key_id: None)
    prev = records.GENESIS_PREV
    for stored in opened.records():
        header = stored.header_fields()
        expected = records.build_encoded_record(
            seq=stored.seq, prev=prev, time=header["time"], run=header["run"],
            scope=header["scope"], kind=header["kind"], body_bytes=stored.body)
        assert stored == expected
        prev = stored.hash


@pytest.mark.parametrize("text", [s for s in ODD_STRINGS if "\ud800" not in s and "\udfff" not in s],
                         ids=repr)
def test_ledger_odd_strings_verify(tmp_path, text):
    opened = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        first = opened.append(run=text, scope=text, time=text, entries=[
            NewRecord("run", {"r": text}), NewRecord("evidence", {text: [1.0, text]})])
        second = opened.append(run="plain", scope="s", time=TIME,
                               entries=[NewRecord("result", {"status": "pass"})])
        assert [r.seq for r in first + second] == [1, 2, 3]
        _assert_ledger_matches_reference(opened)
        assert [r.seq for r in opened.run_records(text)] == [1, 2]
        assert [r.run for r in opened.runs()] == [text, "plain"]
    finally:
        opened.close()


def test_ledger_enum_fields_verify(tmp_path):
    # Run, scope and time that are not exactly str go through
    # build_encoded_record, which writes a str enum member's value, as the
    # driver stores it.
    opened = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        opened.append(run=Colour.RED, scope=Mood.CALM, time=Colour.RED, entries=[
            NewRecord("run", {"colour": Colour.RED, "level": Level.HIGH})])
        _assert_ledger_matches_reference(opened)
        assert [r.run for r in opened.runs()] == ["red"]
    finally:
        opened.close()


def test_ledger_lone_surrogate_writes_nothing(tmp_path):
    opened = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        opened.append(run="r", scope="s", time=TIME, entries=[NewRecord("run", {})])
        with pytest.raises(ValueError):
            opened.append(run="a\ud800", scope="s", time=TIME,
                          entries=[NewRecord("run", {}), NewRecord("evidence", {})])
        assert opened.count() == 1
        _assert_ledger_matches_reference(opened)
    finally:
        opened.close()


def test_ledger_str_enum_kind_verifies(tmp_path):
    # The kind column holds "evidence", so the header must say "evidence"
    # too, or the ledger that append() wrote would not verify.
    opened = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        opened.append(run="r", scope="s", time=TIME, entries=[NewRecord(Kind.EVIDENCE, {"a": 1})])
        _assert_ledger_matches_reference(opened)
    finally:
        opened.close()


ledger_text = st.lists(
    st.sampled_from(["%", "%s", '"', "\\", "\x00", "\x1f", "\U0001f600", "'", ";", "?"])
    | st.characters(exclude_categories=("Cs",)),
    max_size=10,
).map("".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=st.lists(st.tuples(ledger_text, ledger_text, ledger_text), min_size=1, max_size=3))
def test_ledger_generated_strings_verify(runs):
    with tempfile.TemporaryDirectory() as directory:
        opened = Ledger(f"sqlite:///{directory}/ledger.db")
        try:
            for run, scope, time in runs:
                opened.append(run=run, scope=scope, time=time, entries=[
                    NewRecord("run", {"run": run}), NewRecord("evidence", {scope: time})])
            assert opened.count() == 2 * len(runs)
            _assert_ledger_matches_reference(opened)
        finally:
            opened.close()


def test_postgres_insert_names_every_column():
    from sqlalchemy.dialects.postgresql import psycopg

    statement = ledger_module._InsertStatement(psycopg.dialect())
    assert not statement.positional
    for column in ledger_module._InsertStatement.COLUMNS:
        assert f"%({column})s" in statement.sql
