"""The collector interface: registry, `assay collectors`, lint of fact names, plug-ins."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.evidence import collectors
from assay.evidence.collectors.catalog import docs_markdown

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
runner = CliRunner(env={"COLUMNS": "200", "ASSAY_NOW": None})

BUILT_IN = {"jmeter.jtl", "junit", "k6.stream", "k6.summary", "locust.csv", "pgbackrest.info"}


def test_registry_lists_built_in_collectors():
    assert BUILT_IN <= set(collectors.names())


def test_every_fact_declared_with_description():
    for name, cls in collectors.available().items():
        assert cls.facts or cls.dynamic_facts, name
        for fact in cls.facts:
            assert fact.description.strip(), f"{name}.{fact.name}"


def test_docs_collectors_md_is_up_to_date():
    committed = (ROOT / "docs" / "collectors.md").read_text(encoding="utf-8")
    assert committed == docs_markdown(), "run `assay collectors docs > docs/collectors.md`"


def test_collectors_list_command():
    result = runner.invoke(app, ["collectors", "list"])
    assert result.exit_code == 0
    assert "pgbackrest.info" in result.output


def test_collectors_show_json_declares_facts():
    result = runner.invoke(app, ["collectors", "show", "k6.summary", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert "p99_ms" in [fact["name"] for fact in info["facts"]]
    assert info["parameters"][0]["name"] == "path"


def test_collectors_show_unknown_suggests():
    result = runner.invoke(app, ["collectors", "show", "pgbackrest.inf"])
    assert result.exit_code == 2
    assert "unknown collector 'pgbackrest.inf' (did you mean 'pgbackrest.info'?); " \
        "`assay collectors list` shows the installed ones" in result.output


def test_collectors_run_prints_facts():
    result = runner.invoke(app, ["collectors", "run", "junit", "--workspace", str(DATA / "junit"),
                                 "--with", "path=01-junit-nested-testsuites.xml"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["facts"]["tests"] == 5
    assert document["facts"]["failed"] == 2


def test_collectors_run_bad_input_exits_3(tmp_path):
    (tmp_path / "broken.json").write_text('{"metrics": ', encoding="utf-8")
    result = runner.invoke(app, ["collectors", "run", "k6.summary", "--workspace", str(tmp_path),
                                 "--with", "path=broken.json"])
    assert result.exit_code == 3
    assert "broken.json:1:" in result.output
    assert "invalid JSON" in result.output


def test_collectors_run_unknown_parameter_exits_2():
    result = runner.invoke(app, ["collectors", "run", "junit", "--with", "paht=x.xml"])
    assert result.exit_code == 2
    assert result.output == (
        "error: --with path: required parameter is missing; --with paht: unknown parameter "
        "(did you mean 'path'?); the parameters are path, select\n"
    )


def test_collectors_run_missing_file_names_workspace(tmp_path):
    result = runner.invoke(app, ["collectors", "run", "junit", "--workspace", str(tmp_path),
                                 "--with", "path=reports/junit.xml"])
    assert result.exit_code == 3
    assert result.output == (
        "error: reports/junit.xml: no such file, so there is no evidence yet (relative paths "
        f"are read from {tmp_path.resolve()}; set --workspace)\n"
    )


def test_collectors_run_text_parameter_keeps_text(tmp_path):
    result = runner.invoke(app, ["collectors", "run", "junit", "--workspace", str(tmp_path),
                                 "--with", "path=1.10"])
    assert result.exit_code == 3
    assert "1.10: no such file" in result.output


def _workspace_with(tmp_path: Path, expr: str) -> Path:
    workspace = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "platform", workspace)
    control = workspace / "controls" / "cap-01-latency.yaml"
    text = control.read_text(encoding="utf-8")
    control.write_text(text.replace("expr: k6.p99_ms < params.latency_p99_ms", f"expr: {expr}"),
                       encoding="utf-8")
    return workspace


def test_lint_rejects_undeclared_fact(tmp_path):
    workspace = _workspace_with(tmp_path, "k6.p99 < params.latency_p99_ms")
    result = runner.invoke(app, ["lint", str(workspace)])
    assert result.exit_code == 2
    assert ("controls/cap-01-latency.yaml:18:11: assert[2].expr: 'k6.p99': k6.summary produces no "
            "fact 'p99'") in result.output


def test_lint_accepts_fact_family_member(tmp_path):
    workspace = _workspace_with(tmp_path, "k6.p99_9_ms < params.latency_p99_ms")
    result = runner.invoke(app, ["lint", str(workspace)])
    assert result.exit_code == 0, result.output


def test_lint_rejects_path_below_scalar_fact(tmp_path):
    workspace = _workspace_with(tmp_path, "k6.p95_ms.value < 1")
    result = runner.invoke(app, ["lint", str(workspace)])
    assert result.exit_code == 2
    assert "fact 'p95_ms' of k6.summary is a number, not a map" in result.output


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(DATA / "plugin" / "assay-uptime")],
        check=True, capture_output=True,
    )
    return target


def test_plugin_collector_used_in_control(tmp_path, plugin_site):
    workspace = tmp_path / "ws"
    (workspace / "controls").mkdir(parents=True)
    (workspace / "assay.yaml").write_text("name: plug-in test\nsigning_key: key/signing-key.pem\n",
                                          encoding="utf-8")
    (workspace / "uptime.json").write_text('{"uptime_ratio": 0.9995, "window_days": 30}', encoding="utf-8")
    (workspace / "controls" / "av-01.yaml").write_text(
        "id: AV-01\ntitle: The API is up 99.9 % of the time\ncriteria: [A1.1]\n"
        "evidence:\n  - id: uptime\n    collector: uptime.json\n    with: {path: uptime.json}\n"
        "assert:\n  - name: uptime at least 99.9 %\n    expr: uptime.uptime_ratio >= 0.999\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(plugin_site)}
    env = {k: v for k, v in env.items() if not k.startswith("ASSAY_")}
    subprocess.run([sys.executable, "-m", "assay", "keys", "generate", "--out", str(workspace / "key")],
                   env=env, check=True, capture_output=True)
    listed = subprocess.run([sys.executable, "-m", "assay", "collectors", "list"], env=env,
                            capture_output=True, text=True, check=True)
    assert "uptime.json" in listed.stdout
    run = subprocess.run(
        [sys.executable, "-m", "assay", "run", str(workspace), "--now", "2026-12-04T20:15:00Z", "--no-pack"],
        env={**env, "COLUMNS": "200"}, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "AV-01" in run.stdout
    assert "pass" in run.stdout
