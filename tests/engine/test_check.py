"""`assay check` in the engine: judging without recording, replaying a run, and the gate's rules."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from assay import keys
from assay.commands import run_command
from assay.controls.loader import LoadedControl, Workspace, load_workspace
from assay.engine.baseline import (
    Baseline,
    BaselineControl,
    latest_complete_run,
    params_sha256,
    read_run,
    referenced_params,
)
from assay.engine.check import (
    CHANGED,
    IMPROVEMENT,
    NEW,
    REGRESSION,
    REMOVED,
    UNCHANGED,
    collect_results,
    describe_change,
    gate_results,
    replay_results,
)
from assay.engine.evaluate import ControlResult
from assay.engine.status import Status
from assay.evidence.ledger import Ledger
from assay.timeutil import parse_now

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = parse_now("2026-12-04T21:15:00Z")
# Controls of the example that pass at NOW.
PASSING = (
    "cap-01-latency.yaml",
    "bak-01-full-backup.yaml",
    "dr-01-recovery-time.yaml",
    "pol-01-information-security.yaml",
)


def passing_workspace(root: Path) -> Path:
    """Copy the example with only its controls that pass at NOW, and give it a signing key."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    for path in (root / "controls").glob("*.yaml"):
        if path.name not in PASSING:
            path.unlink()
    keys.generate(root / ".assay")
    return root


def record_run(workspace: Path, now: datetime = NOW) -> str:
    outcome, _pack = run_command(workspace, now, None, None, None, pack=False)
    return outcome.run_id


def ledger_of(workspace: Path) -> Ledger:
    return Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")


def replay(workspace_dir: Path, now: datetime = NOW) -> list[ControlResult]:
    workspace = load_workspace(workspace_dir)
    ledger = ledger_of(workspace_dir)
    try:
        contents = read_run(ledger, latest_complete_run(ledger, workspace.config.scope))
        return replay_results(workspace, contents, now=now, scope="production", attestations=[])
    finally:
        ledger.close()


def statuses(results: list[ControlResult]) -> dict[str, str]:
    return {result.control_id: result.status.value for result in results}


def set_param(workspace: Path, name: str, value: str) -> None:
    config = workspace / "assay.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    changed = [
        f"  {name}: {value}" if line.strip().startswith(f"{name}:") else line for line in lines
    ]
    assert changed != lines, f"assay.yaml has no param {name}"
    config.write_text("\n".join(changed) + "\n", encoding="utf-8")


def entry_for(
    loaded: LoadedControl, params: dict, status: str, gate: str = "fail"
) -> BaselineControl:
    """Return a baseline entry that matches the control's current definition and params."""
    read = referenced_params([item.expr for item in loaded.control.assert_], params)
    return BaselineControl(
        status=status,
        definition_sha256=loaded.definition_sha256,
        params_sha256=params_sha256(read),
        gate=gate,
        source=loaded.source,
        definition=loaded.definition(),
        params=read,
    )


def baseline_of(workspace: Workspace, blessed: dict[str, str]) -> Baseline:
    params = workspace.config.params
    controls = {
        loaded.control.id: entry_for(loaded, params, blessed[loaded.control.id])
        for loaded in workspace.controls
        if loaded.control.id in blessed
    }
    return Baseline(
        scope="production",
        run="0" * 32,
        run_now="2026-12-04T21:15:00.000000Z",
        run_time="2026-12-04T21:15:00.000000Z",
        blessed_at="2026-12-04T21:20:00.000000Z",
        workspace="test",
        params_sha256=params_sha256(params),
        controls=controls,
    )


def result_with(workspace: Workspace, control_id: str, status: Status) -> ControlResult:
    loaded = next(item for item in workspace.controls if item.control.id == control_id)
    return ControlResult(loaded, status, [f"{status.value} for the test"], [], [])


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    return passing_workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole example workspace with one recorded run at NOW. Tests must not change it."""
    root = tmp_path_factory.mktemp("example") / "ws"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    keys.generate(root / ".assay")
    record_run(root)
    return root


# Judging and replaying ------------------------------------------------------------


def test_collect_results_pass_at_demo_instant(workspace_dir: Path) -> None:
    results = collect_results(
        load_workspace(workspace_dir), now=NOW, scope="production", attestations=[]
    )

    assert statuses(results) == {
        "BAK-01": "pass",
        "DR-01": "pass",
        "CAP-01": "pass",
        "POL-01": "pass",
    }


def test_collect_results_creates_no_files(workspace_dir: Path) -> None:
    before = sorted(path.relative_to(workspace_dir) for path in workspace_dir.rglob("*"))

    collect_results(load_workspace(workspace_dir), now=NOW, scope="production", attestations=[])

    after = sorted(path.relative_to(workspace_dir) for path in workspace_dir.rglob("*"))
    assert after == before


def test_replay_matches_collection_on_example(example_run: Path) -> None:
    workspace = load_workspace(example_run)
    collected = collect_results(workspace, now=NOW, scope="production", attestations=[])

    replayed = replay(example_run)

    assert statuses(replayed) == statuses(collected)
    for old, new in zip(collected, replayed, strict=True):
        assert [a.to_json() for a in new.assertions] == [a.to_json() for a in old.assertions], (
            old.control_id
        )
        assert new.reasons == old.reasons, old.control_id


def test_replay_current_params(workspace_dir: Path) -> None:
    record_run(workspace_dir)
    set_param(workspace_dir, "latency_p99_ms", "10")

    results = {result.control_id: result for result in replay(workspace_dir)}

    lt01 = results["CAP-01"]
    assert lt01.status is Status.FAIL
    failed = [a for a in lt01.assertions if a.outcome == "fail"]
    assert [a.name for a in failed] == ["p99 latency under target"]
    assert failed[0].facts["params.latency_p99_ms"] == 10
    assert results["BAK-01"].status is Status.PASS


def test_replay_ignores_changed_inputs(workspace_dir: Path) -> None:
    record_run(workspace_dir)
    (workspace_dir / "inputs" / "k6-summary.json").write_text("{}", encoding="utf-8")

    assert statuses(replay(workspace_dir))["CAP-01"] == "pass"


def test_replay_new_parameters_missing(workspace_dir: Path) -> None:
    record_run(workspace_dir)
    control = workspace_dir / "controls" / "cap-01-latency.yaml"
    text = control.read_text(encoding="utf-8")
    control.write_text(
        text.replace("inputs/k6-summary.json", "inputs/k6-other.json"), encoding="utf-8"
    )

    lt01 = next(result for result in replay(workspace_dir) if result.control_id == "CAP-01")

    assert lt01.status is Status.MISSING
    assert "other parameters than the control names now" in (lt01.evidence[0].message or "")


def test_replay_evidence_not_recorded_is_missing(workspace_dir: Path) -> None:
    record_run(workspace_dir)
    shutil.copy(EXAMPLE / "controls" / "cap-02-error-rate.yaml", workspace_dir / "controls")

    lt02 = next(result for result in replay(workspace_dir) if result.control_id == "CAP-02")

    assert lt02.status is Status.MISSING
    assert "recorded no evidence 'k6'" in (lt02.evidence[0].message or "")


def test_replay_freshness_current_max_age(workspace_dir: Path) -> None:
    record_run(workspace_dir)
    control = workspace_dir / "controls" / "bak-01-full-backup.yaml"
    text = control.read_text(encoding="utf-8")
    control.write_text(text.replace("max_age: 26h", "max_age: 1h"), encoding="utf-8")

    bk01 = next(result for result in replay(workspace_dir) if result.control_id == "BAK-01")

    assert bk01.status is Status.ERROR
    assert bk01.evidence[0].stale is not None
    assert "older than max_age 1h" in bk01.evidence[0].stale


def test_replay_freshness_uses_given_now(workspace_dir: Path) -> None:
    record_run(workspace_dir)

    later = parse_now("2026-12-07T00:00:00Z")
    bk01 = next(result for result in replay(workspace_dir, later) if result.control_id == "BAK-01")

    assert bk01.status is Status.ERROR


# The gate's rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blessed", "now", "change", "blocks"),
    [
        ("pass", Status.PASS, UNCHANGED, False),
        ("pass", Status.FAIL, REGRESSION, True),
        ("pass", Status.ERROR, REGRESSION, True),
        ("pass", Status.MISSING, REGRESSION, True),
        ("pass", Status.MANUAL, REGRESSION, True),
        ("waived", Status.FAIL, REGRESSION, True),
        ("pass", Status.WAIVED, CHANGED, False),
        ("fail", Status.PASS, IMPROVEMENT, False),
        ("missing", Status.WAIVED, IMPROVEMENT, False),
        ("fail", Status.FAIL, UNCHANGED, False),
        ("fail", Status.ERROR, CHANGED, False),
    ],
)
def test_gate_status_changes(
    workspace_dir: Path, blessed: str, now: Status, change: str, blocks: bool
) -> None:
    workspace = load_workspace(workspace_dir)
    baseline = baseline_of(workspace, {"CAP-01": blessed})

    verdicts = gate_results(
        workspace, [result_with(workspace, "CAP-01", now)], baseline, strict=False
    )

    assert verdicts[0].change == change
    assert verdicts[0].blocking is blocks


def test_gate_regression_names_statuses(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    baseline = baseline_of(workspace, {"CAP-01": "pass"})

    verdict = gate_results(
        workspace, [result_with(workspace, "CAP-01", Status.FAIL)], baseline, strict=False
    )[0]

    assert verdict.reasons == ["regression: pass in the baseline, fail now"]


def test_gate_no_baseline_blocks_unmet(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    results = [
        result_with(workspace, "BAK-01", Status.PASS),
        result_with(workspace, "DR-01", Status.WAIVED),
        result_with(workspace, "CAP-01", Status.MISSING),
        result_with(workspace, "POL-01", Status.NOT_APPLICABLE),
    ]

    verdicts = {v.control_id: v for v in gate_results(workspace, results, None, strict=False)}

    assert [c for c, v in verdicts.items() if v.blocking] == ["CAP-01"]
    assert verdicts["CAP-01"].reasons == ["missing, and no baseline is blessed for this scope"]
    assert all(v.change is None for v in verdicts.values())


def test_gate_new_unmet_control_passes(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    baseline = baseline_of(workspace, {"BAK-01": "pass"})

    verdict = gate_results(
        workspace, [result_with(workspace, "CAP-01", Status.FAIL)], baseline, strict=False
    )[0]

    assert verdict.change == NEW
    assert not verdict.blocking


def test_gate_strict_blocks_known_and_new(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    baseline = baseline_of(workspace, {"BAK-01": "fail"})
    results = [
        result_with(workspace, "BAK-01", Status.FAIL),
        result_with(workspace, "CAP-01", Status.ERROR),
    ]

    verdicts = gate_results(workspace, results, baseline, strict=True)

    assert [v.blocking for v in verdicts] == [True, True]
    assert verdicts[0].reasons == ["fail, and --strict fails every control that is not met"]


def test_gate_strict_leaves_not_applicable_alone(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)

    verdicts = gate_results(
        workspace, [result_with(workspace, "BAK-01", Status.NOT_APPLICABLE)], None, strict=True
    )

    assert not verdicts[0].blocking


def test_gate_removed_control_blocks(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    baseline = baseline_of(workspace, {"BAK-01": "pass", "CAP-01": "pass"})

    verdicts = gate_results(
        workspace, [result_with(workspace, "BAK-01", Status.PASS)], baseline, strict=False
    )

    removed = verdicts[-1]
    assert removed.control_id == "CAP-01"
    assert removed.change == REMOVED
    assert removed.blocking
    assert removed.source == "controls/cap-01-latency.yaml"
    assert removed.reasons == ["removed since the baseline, where it was pass"]


def test_gate_params_change_blocks_only_readers(workspace_dir: Path) -> None:
    blessed = load_workspace(workspace_dir)
    baseline = baseline_of(blessed, {"BAK-01": "pass", "CAP-01": "pass"})
    set_param(workspace_dir, "latency_p99_ms", "4999")
    workspace = load_workspace(workspace_dir)
    results = [
        result_with(workspace, "BAK-01", Status.PASS),
        result_with(workspace, "CAP-01", Status.PASS),
    ]

    verdicts = {v.control_id: v for v in gate_results(workspace, results, baseline, strict=False)}

    assert not verdicts["BAK-01"].blocking
    assert verdicts["CAP-01"].blocking
    assert [describe_change(c) for c in verdicts["CAP-01"].definition_changes] == [
        "params.latency_p99_ms (5000 -> 4999)"
    ]


def test_gate_assertion_edit_named(workspace_dir: Path) -> None:
    baseline = baseline_of(load_workspace(workspace_dir), {"CAP-01": "pass"})
    control = workspace_dir / "controls" / "cap-01-latency.yaml"
    text = control.read_text(encoding="utf-8")
    control.write_text(
        text.replace("k6.p95_ms < params.latency_p95_ms", "k6.p95_ms <= params.latency_p95_ms"),
        encoding="utf-8",
    )
    workspace = load_workspace(workspace_dir)

    verdict = gate_results(
        workspace, [result_with(workspace, "CAP-01", Status.PASS)], baseline, strict=False
    )[0]

    assert verdict.blocking
    assert [c.path for c in verdict.definition_changes] == ["assert[1].expr"]
    assert verdict.reasons[0].startswith("definition changed since the baseline: assert[1].expr")


def test_gate_warn_control_warns(workspace_dir: Path) -> None:
    control = workspace_dir / "controls" / "cap-01-latency.yaml"
    control.write_text(control.read_text(encoding="utf-8") + "gate: warn\n", encoding="utf-8")
    workspace = load_workspace(workspace_dir)

    verdict = gate_results(
        workspace, [result_with(workspace, "CAP-01", Status.FAIL)], None, strict=True
    )[0]

    assert verdict.gate == "warn"
    assert verdict.warning
    assert not verdict.blocking


def test_gate_relaxed_warn_still_blocks(workspace_dir: Path) -> None:
    baseline = baseline_of(load_workspace(workspace_dir), {"CAP-01": "pass"})
    control = workspace_dir / "controls" / "cap-01-latency.yaml"
    control.write_text(control.read_text(encoding="utf-8") + "gate: warn\n", encoding="utf-8")
    workspace = load_workspace(workspace_dir)

    verdict = gate_results(
        workspace, [result_with(workspace, "CAP-01", Status.FAIL)], baseline, strict=False
    )[0]

    assert verdict.gate == "fail"
    assert verdict.blocking
    assert [describe_change(c) for c in verdict.definition_changes] == ["gate ('fail' -> 'warn')"]
