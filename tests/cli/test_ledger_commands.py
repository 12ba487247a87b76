"""`assay ledger verify|checkpoint|log|purge` and `assay keys rotate` on real ledgers."""

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay import keys
from assay.cli import app
from assay.evidence.ledger import Ledger, NewRecord
from support.pgserver import create_database
from support.workspace import NOW, small_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def _run(workspace: Path, *extra: str, now: str = NOW) -> None:
    result = _invoke("run", str(workspace), "--now", now, "--no-pack", *extra)
    assert result.exit_code == 0, result.output


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    ws = small_workspace(tmp_path / "ws")
    _run(ws)
    _run(ws)
    return ws


def _database(workspace: Path) -> Path:
    return workspace / "evidence" / "ledger.db"


def test_verify_clean_ledger_exits_zero(workspace):
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 0, result.output
    assert "ok: records 1..14 verify" in result.output
    assert "ok: 2 checkpoint signatures verify" in result.output
    assert "runs: 2 complete, 0 incomplete (ignored)" in result.output


def test_verify_edited_body_names_seq_and_run(workspace):
    with sqlite3.connect(_database(workspace)) as connection:
        run = connection.execute("SELECT run FROM records WHERE seq = 3").fetchone()[0]
        connection.execute("UPDATE records SET body = CAST(REPLACE(CAST(body AS TEXT), 'ok', 'OK') AS BLOB) WHERE seq = 3")
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 4
    assert f"ledger record seq 3 (run {run}): body does not match body_sha256 in the header" in result.output


def test_verify_reordered_stored_keys_detected(workspace):
    with sqlite3.connect(_database(workspace)) as connection:
        header = connection.execute("SELECT header FROM records WHERE seq = 2").fetchone()[0]
        fields = json.loads(header)
        reordered = json.dumps(dict(reversed(list(fields.items()))), separators=(",", ":")).encode()
        connection.execute("UPDATE records SET header = ? WHERE seq = 2", (reordered,))
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 4
    assert "seq 2" in result.output
    assert "not in canonical form" in result.output


def test_verify_from_seq_starts_there(workspace):
    result = _invoke("ledger", "verify", str(workspace), "--from", "7")
    assert result.exit_code == 0, result.output
    assert "ok: records 7..14 verify" in result.output


def test_verify_missing_blob_named(workspace):
    blob = next(p for p in (workspace / "evidence" / "blobs").rglob("*") if p.is_file())
    blob.unlink()
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 4
    assert f"blob {blob.name} named by record seq" in result.output
    assert "missing" in result.output


def test_verify_altered_blob_named(workspace):
    blob = next(p for p in (workspace / "evidence" / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes() + b" ")
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 4
    assert f"blob {blob.name}" in result.output
    assert "content no longer matches its SHA-256" in result.output


def test_purged_blob_reported_as_purged(workspace):
    blob = next(p for p in (workspace / "evidence" / "blobs").rglob("*") if p.is_file())
    purged = _invoke("ledger", "purge", blob.name, "--reason", "retention: 400 days", str(workspace),
                     "--now", NOW)
    assert purged.exit_code == 0, purged.output
    assert not blob.exists()
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 0, result.output
    assert f"purged: blob {blob.name}" in result.output


def test_checkpoint_extended_by_later_runs(workspace, tmp_path):
    exported = tmp_path / "checkpoint.json"
    result = _invoke("ledger", "checkpoint", str(workspace), "--out", str(exported))
    assert result.exit_code == 0, result.output
    _run(workspace)
    result = _invoke("ledger", "verify", str(workspace), "--checkpoint", str(exported))
    assert result.exit_code == 0, result.output
    assert "ok: the ledger extends the exported checkpoint at seq 14" in result.output


def test_rebuilt_ledger_fails_exported_checkpoint(workspace, tmp_path):
    exported = tmp_path / "checkpoint.json"
    assert _invoke("ledger", "checkpoint", str(workspace), "--out", str(exported)).exit_code == 0
    shutil.rmtree(workspace / "evidence")
    _run(workspace, now="2026-12-04T20:16:00Z")
    _run(workspace, now="2026-12-04T20:17:00Z")
    result = _invoke("ledger", "verify", str(workspace), "--checkpoint", str(exported))
    assert result.exit_code == 4
    assert "seq 14" in result.output
    assert "differs from the exported checkpoint" in result.output


def test_unreadable_checkpoint_file_exits_five(workspace, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = _invoke("ledger", "verify", str(workspace), "--checkpoint", str(broken))
    assert result.exit_code == 5


def test_log_lists_complete_and_incomplete_runs(workspace):
    ledger = Ledger(f"sqlite:///{_database(workspace)}")
    ledger.append(run="deadbeef" * 4, scope="production", time="2026-12-04T20:20:00.000000Z",
                  entries=[NewRecord("run", {"now": "2026-12-04T20:20:00.000000Z"})])
    ledger.close()
    result = _invoke("ledger", "log", str(workspace))
    assert result.exit_code == 0, result.output
    assert result.output.count("complete") == 3
    assert "incomplete" in result.output
    assert "pass 2" in result.output
    verify = _invoke("ledger", "verify", str(workspace))
    assert "runs: 2 complete, 1 incomplete (ignored)" in verify.output


def test_rotated_key_keeps_old_checkpoints_verifiable(workspace):
    old_key = keys.load_signing_key_file(workspace / ".assay" / "signing-key.pem")
    rotated = _invoke("keys", "rotate", str(workspace))
    assert rotated.exit_code == 0, rotated.output
    new_key = keys.load_signing_key_file(workspace / ".assay" / "signing-key.pem")
    assert new_key.key_id != old_key.key_id
    _run(workspace)
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 0, result.output
    assert "ok: 3 checkpoint signatures verify" in result.output


def test_checkpoint_by_untrusted_key_names_key(workspace):
    old_key = keys.load_signing_key_file(workspace / ".assay" / "signing-key.pem")
    assert _invoke("keys", "rotate", str(workspace)).exit_code == 0
    (workspace / "keys" / "trusted" / keys.trusted_key_name(old_key.public)).unlink()
    result = _invoke("ledger", "verify", str(workspace))
    assert result.exit_code == 4
    assert f"checkpoint signed by key {old_key.key_id}, which is not trusted" in result.output


def test_run_with_untrusted_signing_key_rejected(workspace, tmp_path):
    other, _ = keys.generate(tmp_path / "other")
    result = _invoke("run", str(workspace), "--now", NOW, "--no-pack", "--key", str(other))
    assert result.exit_code == 2
    assert "is not among the trusted keys" in result.output


def test_signing_key_from_environment(workspace):
    pem = (workspace / ".assay" / "signing-key.pem").read_text(encoding="utf-8")
    (workspace / ".assay" / "signing-key.pem").unlink()
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"],
                           env={"ASSAY_SIGNING_KEY": pem})
    assert result.exit_code == 0, result.output


def test_key_option_wins_over_environment(workspace, tmp_path):
    other, _ = keys.generate(tmp_path / "other")
    trusted_key = workspace / ".assay" / "signing-key.pem"
    result = runner.invoke(
        app, ["run", str(workspace), "--now", NOW, "--no-pack", "--key", str(trusted_key)],
        env={"ASSAY_SIGNING_KEY": other.read_text(encoding="utf-8")},
    )
    assert result.exit_code == 0, result.output


def test_environment_wins_over_assay_yaml(workspace, tmp_path):
    other, _ = keys.generate(tmp_path / "other")
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"],
                           env={"ASSAY_SIGNING_KEY": other.read_text(encoding="utf-8")})
    assert result.exit_code == 2
    assert "is not among the trusted keys" in result.output


def test_signing_key_path_in_environment_explained(workspace):
    path = workspace / ".assay" / "signing-key.pem"
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"],
                           env={"ASSAY_SIGNING_KEY": str(path)})
    assert result.exit_code == 2
    assert result.output == (
        "error: ASSAY_SIGNING_KEY: not PEM text (no -----BEGIN line); set it to the contents "
        "of signing-key.pem, not to a file path\n"
    )


def test_postgres_ledger_run_and_verify(tmp_path, postgres_url):
    url = create_database(postgres_url, "cli_ledger")
    ws = small_workspace(tmp_path / "pg")
    _run(ws, "--ledger", url)
    _run(ws, "--ledger", url.replace("postgresql://", "postgresql+psycopg://"))
    result = _invoke("ledger", "verify", str(ws), "--ledger", url)
    assert result.exit_code == 0, result.output
    assert "ok: records 1..14 verify" in result.output
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE records SET body = body || ' '::bytea WHERE seq = 5")
    result = _invoke("ledger", "verify", str(ws), "--ledger", url)
    assert result.exit_code == 4
    assert re.search(r"ledger record seq 5 \(run [0-9a-f]+\): body does not match", result.output)


def test_ledger_url_password_hidden_in_errors(tmp_path):
    ws = small_workspace(tmp_path / "ws")
    result = _invoke("ledger", "log", str(ws), "--ledger", "postgresql://auditor:s3cret@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "s3cret" not in result.output
    assert "auditor:***@127.0.0.1:1/none" in result.output


@pytest.mark.parametrize(("command", "options"), [
    (["ledger", "verify"], []),
    (["ledger", "log"], []),
    (["ledger", "checkpoint"], ["--out", "cp.json"]),
    (["pack"], ["--period", "2026-12-01..2026-12-04"]),
])
def test_missing_ledger_not_created(tmp_path: Path, command: list[str], options: list[str]):
    workspace = small_workspace(tmp_path / "ws")

    result = _invoke(*command, str(workspace), *options)

    assert result.exit_code == 2
    assert f"no ledger at {workspace / 'evidence' / 'ledger.db'}" in result.output
    assert not (workspace / "evidence").exists()


def test_checkpoint_out_folder_rejected(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)

    result = _invoke("ledger", "checkpoint", str(workspace), "--out", str(tmp_path))

    assert result.exit_code == 2
    assert f"--out {tmp_path}: is a folder; give a file name inside it" in result.output


def test_checkpoint_out_parent_created(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)
    target = tmp_path / "kept" / "by" / "auditor.json"

    result = _invoke("ledger", "checkpoint", str(workspace), "--out", str(target))

    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["seq"] > 0


def test_verify_from_past_end_is_usage_error(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)

    result = _invoke("ledger", "verify", str(workspace), "--from", "99999")

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --from 99999: the ledger has no record at seq 99998; give a seq up to one past "
    )


def test_verify_pack_given_workspace_exits_5(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)
    public = workspace / ".assay" / "signing-key.pub.pem"

    result = _invoke("verify", str(workspace), "--key", str(public))

    assert result.exit_code == 5
    assert result.stderr.startswith(f"FAILED: {workspace}: not an assay pack (no manifest.json")


def test_run_dated_before_ledger_rejected(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)
    seq = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}").head()[0]

    result = _invoke("run", str(workspace), "--now", "1900-01-01T00:00:00Z", "--no-pack")

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --now 1900-01-01T00:00:00.000000Z is before the ledger's last record (seq {seq}, "
        "2026-12-04T20:15:00.000000Z); runs are recorded in time order, so give a later --now\n"
    )


def test_run_within_clock_skew_accepted(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    _run(workspace)

    _run(workspace, now="2026-12-04T20:10:00Z")


@pytest.mark.parametrize("body", [b"[1]", b"{", b"\xff\xfe"], ids=repr)
def test_log_counts_damaged_body_unreadable(workspace, body):
    with sqlite3.connect(_database(workspace)) as connection:
        seq = connection.execute("SELECT MIN(seq) FROM records WHERE kind = 'result'").fetchone()[0]
        connection.execute("UPDATE records SET body = ? WHERE seq = ?", (body, seq))
    result = _invoke("ledger", "log", str(workspace))
    assert result.exit_code == 0, result.output
    assert "unreadable 1" in result.output
    verify = _invoke("ledger", "verify", str(workspace))
    assert verify.exit_code == 4
    assert f"seq {seq}" in verify.output


@pytest.mark.parametrize("part, field, value", [
    ("body", "signature", "A" * 88),
    ("body", "key_id", "0" * 64),
    ("header", "time", "2026-12-04T20:00:00.000000Z"),
    ("header", "seq", 3),
], ids=repr)
def test_altered_exported_checkpoint_rejected(workspace, tmp_path, part, field, value):
    exported = tmp_path / "checkpoint.json"
    assert _invoke("ledger", "checkpoint", str(workspace), "--out", str(exported)).exit_code == 0
    document = json.loads(exported.read_text(encoding="utf-8"))
    document[part][field] = value
    exported.write_text(json.dumps(document), encoding="utf-8")

    result = _invoke("ledger", "verify", str(workspace), "--checkpoint", str(exported))

    assert result.exit_code == 4, result.output
    assert f"{exported}: the checkpoint's {part} " in result.output
    assert "the file was altered" in result.output


def _forge(exported: Path, signature: str) -> None:
    """Change the checkpoint's signature and recompute its hashes, so the file is one record."""
    from assay.evidence.records import canonical, record_hash, sha256_hex

    document = json.loads(exported.read_text(encoding="utf-8"))
    document["body"]["signature"] = signature
    document["header"]["body_sha256"] = sha256_hex(canonical(document["body"]))
    document["hash"] = record_hash(canonical(document["header"]))
    exported.write_text(json.dumps(document), encoding="utf-8")


def test_forged_checkpoint_signature_blamed_on_file(workspace, tmp_path):
    exported = tmp_path / "checkpoint.json"
    assert _invoke("ledger", "checkpoint", str(workspace), "--out", str(exported)).exit_code == 0
    _forge(exported, "A" * 86 + "==")

    result = _invoke("ledger", "verify", str(workspace), "--checkpoint", str(exported))

    assert result.exit_code == 4, result.output
    assert f"FAILED: {exported}: checkpoint signature does not verify with key SHA256:" \
        in result.output
    assert "the checkpoint file was not written by a trusted assay key or was altered" \
        in result.output
    assert "history was rewritten" not in result.output


def test_log_keeps_time_whole_at_80_columns(workspace):
    narrow = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                            "COLUMNS": "80"})
    result = narrow.invoke(app, ["ledger", "log", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "2026-12-04T20:15:00.000000Z" in result.output
