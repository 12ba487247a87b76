import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.command import Command, CommandParams, redact_argv

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def command_enabled(monkeypatch):
    monkeypatch.delenv("ASSAY_DISABLE_COMMAND", raising=False)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def collect(workspace: Path, **params):
    return Command().collect(CommandParams(**params), CollectContext(workspace=workspace, now=NOW))


# Output


def test_json_output_parsed(tmp_path):
    code = "import json; print(json.dumps({'users': 3, 'mfa': True, 'admins': ['root']}))"
    collected = collect(tmp_path, argv=python(code), parse="json")
    assert collected.facts["output"] == {"users": 3, "mfa": True, "admins": ["root"]}
    assert collected.facts["exit_code"] == 0
    assert collected.facts["duration_seconds"] >= 0
    assert "stdout" in collected.absent


def test_text_output(tmp_path):
    collected = collect(tmp_path, argv=python("print('ready: 3/3')"), parse="text")
    assert collected.facts["stdout"] == "ready: 3/3\n"
    assert "output" in collected.absent


def test_parse_none_records_only_exit(tmp_path):
    collected = collect(tmp_path, argv=python("print('x')"))
    assert set(collected.facts) == {"exit_code", "duration_seconds"}


def test_stdout_saved_as_artifact(tmp_path):
    collected = collect(tmp_path, argv=python("print('ready')"))
    [artifact] = collected.artifacts
    assert artifact.parent == tmp_path / "evidence" / "tmp"
    assert artifact.read_bytes() == b"ready\n"


def test_facts_match_declarations(tmp_path):
    collected = collect(tmp_path, argv=python("print('{}')"), parse="json")
    for name in collected.facts:
        assert Command.declared(name) is not None, name


def test_invalid_json_is_error(tmp_path):
    with pytest.raises(CollectorError, match="invalid JSON"):
        collect(tmp_path, argv=python("print('not json')"), parse="json")


def test_invalid_json_after_failure_names_exit(tmp_path):
    code = "import sys; print('connection refused', file=sys.stderr); sys.exit(2)"
    with pytest.raises(CollectorError, match="exited with code 2; stderr ends: connection refused"):
        collect(tmp_path, argv=python(code), parse="json")


def test_large_integer_kept_as_text(tmp_path):
    collected = collect(tmp_path, argv=python("print('{\"id\": 9007199254740993}')"), parse="json")
    assert collected.facts["output"] == {"id": "9007199254740993"}


def test_invalid_utf8_text_rejected(tmp_path):
    code = "import sys; sys.stdout.buffer.write(b'caf\\xe9\\n')"
    with pytest.raises(CollectorError, match="invalid UTF-8"):
        collect(tmp_path, argv=python(code), parse="text")


# Exit codes, timeouts and limits


def test_nonzero_exit_recorded(tmp_path):
    code = "import sys; print('disk full', file=sys.stderr); sys.exit(3)"
    collected = collect(tmp_path, argv=python(code))
    assert collected.facts["exit_code"] == 3
    assert collected.warnings == [f"{sys.executable} exited with code 3; stderr ends: disk full"]


def test_timeout_is_error(tmp_path):
    with pytest.raises(CollectorError, match="timed out after 0.5 s"):
        collect(tmp_path, argv=python("import time; time.sleep(30)"), timeout_seconds=0.5)


def _running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return False
    # A killed process whose parent does not reap it stays as a zombie (Z).
    return stat.read_text().split(")")[-1].split()[0] != "Z"


def _stops(pid: int) -> bool:
    """Return whether `pid` stops within 10 s, because a killed process closes its pipes before it is a zombie."""
    for _ in range(200):
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_timeout_kills_process_group(tmp_path):
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(30)\n"
    )
    with pytest.raises(CollectorError, match="timed out"):
        collect(tmp_path, argv=python(code), timeout_seconds=3)
    child = int((tmp_path / "child.pid").read_text())
    assert _stops(child)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_exit_kills_leftover_processes(tmp_path):
    # The background child keeps stdout open; the collector must not wait for it.
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "print('started')\n"
    )
    collected = collect(tmp_path, argv=python(code), parse="text", timeout_seconds=20)
    assert collected.facts["stdout"] == "started\n"
    assert _stops(int((tmp_path / "child.pid").read_text()))


def test_output_over_limit_is_error(tmp_path):
    with pytest.raises(CollectorError, match="stdout is larger than max_output_bytes \\(1000 bytes\\)"):
        collect(tmp_path, argv=python("print('x' * 5000)"), max_output_bytes=1000, parse="text")


def test_output_at_limit_accepted(tmp_path):
    collected = collect(tmp_path, argv=python("print('x' * 999)"), max_output_bytes=1000, parse="text")
    assert len(collected.facts["stdout"]) == 1000


def test_program_not_found(tmp_path):
    with pytest.raises(CollectorError, match="program not found: 'assay-no-such-program'"):
        collect(tmp_path, argv=["assay-no-such-program"])


# Environment and working directory


def test_environment_is_minimal(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_TEST_TOKEN", "s3cr3t")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    collected = collect(tmp_path, argv=python(code), parse="json")
    assert collected.facts["output"] == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def test_env_pass_adds_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_TEST_TOKEN", "s3cr3t")
    code = "import os; print(os.environ['ASSAY_TEST_TOKEN'])"
    collected = collect(tmp_path, argv=python(code), env_pass=["ASSAY_TEST_TOKEN"], parse="text")
    assert collected.facts["stdout"] == "s3cr3t\n"


def test_env_pass_unset_variable_warns(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSAY_TEST_UNSET", raising=False)
    collected = collect(tmp_path, argv=python("pass"), env_pass=["ASSAY_TEST_UNSET"])
    assert collected.warnings == ["env_pass names ASSAY_TEST_UNSET, which is not set in assay's environment"]


def test_env_pass_invalid_name_rejected():
    with pytest.raises(ValidationError, match="'A=B' is not an environment variable name"):
        CommandParams(argv=["true"], env_pass=["A=B"])


def test_cwd_inside_workspace(tmp_path):
    (tmp_path / "reports").mkdir()
    code = "import os; print(os.getcwd())"
    collected = collect(tmp_path, argv=python(code), cwd="reports", parse="text")
    assert collected.facts["stdout"] == f"{(tmp_path / 'reports').resolve()}\n"


def test_default_cwd_is_workspace(tmp_path):
    collected = collect(tmp_path, argv=python("import os; print(os.getcwd())"), parse="text")
    assert collected.facts["stdout"] == f"{tmp_path.resolve()}\n"


@pytest.mark.parametrize("cwd", ["..", "reports/../..", "/tmp"])
def test_cwd_escaping_workspace_rejected(cwd):
    with pytest.raises(ValidationError, match="must be a folder inside the workspace"):
        CommandParams(argv=["true"], cwd=cwd)


def test_cwd_symlink_escaping_workspace_rejected(tmp_path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (tmp_path / "link").symlink_to(outside)
    with pytest.raises(CollectorError, match="outside the workspace"):
        collect(tmp_path, argv=python("pass"), cwd="link")


def test_cwd_missing_rejected(tmp_path):
    with pytest.raises(CollectorError, match="not a folder"):
        collect(tmp_path, argv=python("pass"), cwd="no-such-folder")


# Switch and parameters


def test_disable_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_DISABLE_COMMAND", "1")
    with pytest.raises(CollectorError, match="the command collector is disabled in this workspace"):
        collect(tmp_path, argv=python("open('ran', 'w')"))
    assert not (tmp_path / "ran").exists()


def test_disable_switch_zero_keeps_enabled(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_DISABLE_COMMAND", "0")
    assert collect(tmp_path, argv=python("pass")).facts["exit_code"] == 0


def test_empty_argv_rejected():
    with pytest.raises(ValidationError, match="at least 1 item"):
        CommandParams(argv=[])


def test_shell_string_not_interpreted(tmp_path):
    collected = collect(tmp_path, argv=[sys.executable, "-c", "import sys; print(sys.argv[1])", "$HOME; ls"],
                        parse="text")
    assert collected.facts["stdout"] == "$HOME; ls\n"


# Secret redaction


@pytest.mark.parametrize(("argv", "recorded"), [
    (["psql", "--password=hunter2"], ["psql", "--password=***"]),
    (["vault", "--token", "hvs.abc", "read"], ["vault", "--token", "***", "read"]),
    (["env", "AWS_SECRET_ACCESS_KEY=abc", "aws"], ["env", "AWS_SECRET_ACCESS_KEY=***", "aws"]),
    (["env", "API_KEY=abc"], ["env", "API_KEY=***"]),
    (["curl", "https://admin:hunter2@127.0.0.1/health"], ["curl", "https://admin:***@127.0.0.1/health"]),
    (["pg_dump", "--dbname=postgresql://app:p@ss@db/app"], ["pg_dump", "--dbname=postgresql://app:***@db/app"]),
    (["kubectl", "get", "pods", "-o", "json"], ["kubectl", "get", "pods", "-o", "json"]),
    (["curl", "https://127.0.0.1:8443/health"], ["curl", "https://127.0.0.1:8443/health"]),
])
def test_redact_argv(argv, recorded):
    assert redact_argv(argv) == recorded


def test_params_record_redacted_argv():
    params = CommandParams(argv=["vault", "read", "--token", "hvs.abc", "secret/db"])
    assert params.redacted_argv == ["vault", "read", "--token", "***", "secret/db"]
    assert params.secret_argv_indexes == (3,)
    assert params.model_dump(mode="json")["argv"] == ["vault", "read", "--token", "***", "secret/db"]
    assert "hvs.abc" not in json.dumps(params.model_dump(mode="json"))
    assert "hvs.abc" not in repr(params)


def test_raw_secret_reaches_program(tmp_path):
    code = "import sys; print(sys.argv[1])"
    collected = collect(tmp_path, argv=[sys.executable, "-c", code, "--token=hvs.abc"], parse="text")
    assert collected.facts["stdout"] == "--token=hvs.abc\n"


def test_workspace_setting_disables_collector(tmp_path):
    context = CollectContext(workspace=tmp_path, now=datetime(2026, 12, 4, tzinfo=UTC), allow_command=False)
    with pytest.raises(CollectorError, match="allow_command: false in assay.yaml"):
        Command().collect(CommandParams(argv=python("print(1)")), context)
