"""`assay diff` in the engine: flattened facts, value comparison, run lookup and run diffs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assay import keys
from assay.commands import run_command
from assay.engine.diff import ABSENT, compare_values, diff_runs, flatten, resolve_run
from assay.errors import UsageError
from assay.evidence.ledger import Ledger, NewRecord
from assay.timeutil import parse_now

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = parse_now("2026-12-04T21:15:00Z")


def test_flatten_writes_paths_as_cel_reads_them() -> None:
    facts = {
        "p99_ms": 12.5,
        "by_document": {"information-security": {"approved": True}},
        "backups": [{"label": "a"}, {"label": "b"}],
        "tags": [],
        "empty": {},
    }

    assert flatten(facts, "k6") == {
        "k6.p99_ms": 12.5,
        'k6.by_document["information-security"].approved': True,
        "k6.backups[0].label": "a",
        "k6.backups[1].label": "b",
        "k6.tags": [],
        "k6.empty": {},
    }


def test_flatten_escapes_quotes_in_keys() -> None:
    assert flatten({'say "hi"': 1}) == {'["say \\"hi\\""]': 1}


def test_flatten_scalar_without_prefix() -> None:
    assert flatten(3) == {"": 3}


def test_compare_values_kinds() -> None:
    changes = compare_values({"a": 1, "b": 2, "gone": 0}, {"a": 1, "b": 3, "new": True}, "x")

    assert [(c.path, c.kind) for c in changes] == [
        ("x.b", "changed"),
        ("x.gone", "removed"),
        ("x.new", "added"),
    ]
    assert changes[1].after is ABSENT
    assert changes[2].to_json() == {"path": "x.new", "change": "added", "after": True}


def test_compare_values_tells_bool_from_number() -> None:
    changes = compare_values({"a": 1, "b": 2}, {"a": True, "b": 2.0})

    assert [c.path for c in changes] == ["a"]


def small_workspace(root: Path) -> Path:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    for path in (root / "controls").glob("*.yaml"):
        if path.name not in ("cap-01-latency.yaml", "bak-01-full-backup.yaml"):
            path.unlink()
    keys.generate(root / ".assay")
    return root


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, str, str]:
    """A workspace with two complete runs; the second read a k6 summary with a slower p99."""
    workspace = small_workspace(tmp_path / "ws")
    first, _pack = run_command(workspace, NOW, None, None, None, pack=False)
    summary_path = workspace / "inputs" / "k6-summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["metrics"]["http_req_duration"]["p(99)"] = 6000.25
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    second, _pack = run_command(workspace, NOW, None, None, None, pack=False)
    return workspace, first.run_id, second.run_id


def open_ledger(workspace: Path) -> Ledger:
    return Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")


def test_diff_runs_reports_status_and_fact(two_runs: tuple[Path, str, str]) -> None:
    workspace, first, second = two_runs
    ledger = open_ledger(workspace)

    result = diff_runs(
        ledger, resolve_run(ledger, first, "production"), resolve_run(ledger, second, "production")
    )

    assert [item.control for item in result.changed] == ["CAP-01"]
    lt01 = result.changed[0]
    assert (lt01.status_before, lt01.status_after) == ("pass", "fail")
    assert not lt01.definition_changed
    p99 = [change for change in lt01.fact_changes if change.path == "k6.p99_ms"]
    assert len(p99) == 1
    assert p99[0].after == 6000.25
    assert p99[0].before != 6000.25
    ledger.close()


def test_diff_runs_json_lists_unchanged(two_runs: tuple[Path, str, str]) -> None:
    workspace, first, second = two_runs
    ledger = open_ledger(workspace)

    document = diff_runs(
        ledger,
        resolve_run(ledger, "previous", "production"),
        resolve_run(ledger, "latest", "production"),
    ).to_json()

    assert document["before"]["run"] == first
    assert document["after"]["run"] == second
    assert document["unchanged"] == ["BAK-01"]
    assert [item["control"] for item in document["controls"]] == ["CAP-01"]
    facts = {fact["path"]: fact for fact in document["controls"][0]["evidence"][0]["facts"]}
    assert facts["k6.p99_ms"]["change"] == "changed"
    assert facts["k6.p99_ms"]["after"] == 6000.25
    ledger.close()


def test_diff_same_run_has_no_changes(two_runs: tuple[Path, str, str]) -> None:
    workspace, _first, second = two_runs
    ledger = open_ledger(workspace)
    run = resolve_run(ledger, second, "production")

    assert diff_runs(ledger, run, run).changed == []
    ledger.close()


def test_diff_definition_change_is_reported(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / "ws")
    run_command(workspace, NOW, None, None, None, pack=False)
    control = workspace / "controls" / "cap-01-latency.yaml"
    control.write_text(
        control.read_text(encoding="utf-8").replace("owner: platform-team", "owner: sre"),
        encoding="utf-8",
    )
    run_command(workspace, NOW, None, None, None, pack=False)
    ledger = open_ledger(workspace)

    result = diff_runs(
        ledger,
        resolve_run(ledger, "previous", "production"),
        resolve_run(ledger, "latest", "production"),
    )

    assert [(item.control, item.definition_changed) for item in result.changed] == [("CAP-01", True)]
    ledger.close()


def fake_run(ledger: Ledger, run: str, *, complete: bool = True) -> None:
    """Append a run record with a chosen id, closed by a checkpoint when `complete`."""
    stamp = "2026-12-04T21:15:00.000000Z"
    ledger.append(
        run=run, scope="production", time=stamp, entries=[NewRecord("run", {"now": stamp})]
    )
    if complete:
        ledger.checkpoint(
            run=run,
            scope="production",
            time=stamp,
            key=keys.SigningKey(Ed25519PrivateKey.generate()),
        )


def test_resolve_run_prefix(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    fake_run(ledger, "abc1" + "0" * 28)
    fake_run(ledger, "abc2" + "0" * 28)

    assert resolve_run(ledger, "ABC1", "production").run == "abc1" + "0" * 28
    with pytest.raises(UsageError, match="matches 2 runs"):
        resolve_run(ledger, "abc", "production")
    with pytest.raises(UsageError, match="no run in the ledger has an id starting with 'ffff'"):
        resolve_run(ledger, "ffff", "production")
    with pytest.raises(UsageError, match="must not be empty"):
        resolve_run(ledger, "", "production")
    ledger.close()


def test_resolve_run_incomplete_rejected(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    fake_run(ledger, "abc1" + "0" * 28, complete=False)

    with pytest.raises(UsageError, match="is incomplete"):
        resolve_run(ledger, "abc1", "production")
    with pytest.raises(UsageError, match="has 0 complete runs, so there is no latest run"):
        resolve_run(ledger, "latest", "production")
    ledger.close()


def test_resolve_previous_needs_two_runs(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    fake_run(ledger, "abc1" + "0" * 28)

    assert resolve_run(ledger, "latest", "production").run == "abc1" + "0" * 28
    with pytest.raises(UsageError, match="has 1 complete runs, so there is no previous run"):
        resolve_run(ledger, "previous", "production")
    ledger.close()
