"""RFC 3161 timestamps of exported checkpoints, against a local `openssl ts -reply` authority."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from typer.testing import CliRunner, Result

from assay.cli import app
from assay.evidence.records import canonical
from assay.evidence.timestamp import checkpoint_digest
from support.signed_workspace import NOW, signed_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})

TS_CONFIG = """\
[ tsa ]
default_tsa = local_tsa

[ local_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

TSA_EXTENSIONS = """\
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
"""


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done


def make_authority(folder: Path, name: str) -> Path:
    """Create a CA and a TSA certificate issued by it, with the `openssl ts` config; return the config."""
    folder.mkdir()
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", f"/CN={name} CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        cwd=folder,
    )
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name}", cwd=folder,
    )
    (folder / "tsa.ext").write_text(TSA_EXTENSIONS, encoding="ascii")
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
        "-days", "3650", "-extfile", "tsa.ext", "-out", "tsa.pem", cwd=folder,
    )
    (folder / "serial").write_text("01\n", encoding="ascii")
    config = folder / "ts.cnf"
    config.write_text(TS_CONFIG.format(dir=folder), encoding="ascii")
    return config


@dataclass
class Authority:
    folder: Path
    url: str
    # Replaces the reply for the next requests: (HTTP status, body) from the query bytes.
    respond: Callable[[bytes], tuple[int, bytes]] | None = None

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def certificate(self) -> Path:
        return self.folder / "tsa.pem"


def openssl_reply(folder: Path, query: bytes) -> bytes:
    (folder / "query.tsq").write_bytes(query)
    openssl("ts", "-reply", "-config", "ts.cnf", "-queryfile", "query.tsq", "-out", "reply.tsr",
            cwd=folder)
    return (folder / "reply.tsr").read_bytes()


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authority]:
    """A time-stamp authority made by `openssl ts -reply`, served on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tsa") / "authority"
    make_authority(folder, "Test TSA")
    state = Authority(folder, "")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                if self.headers["Content-Type"] != "application/timestamp-query":
                    status, body = 415, b"expected application/timestamp-query"
                elif state.respond is not None:
                    status, body = state.respond(query)
                else:
                    status, body = 200, openssl_reply(folder, query)
            self.send_response(status)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def tsa(authority: Authority) -> Iterator[Authority]:
    authority.respond = None
    yield authority
    authority.respond = None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one recorded run and its pack."""
    root = signed_workspace(tmp_path_factory.mktemp("ts") / "ws")
    result = runner.invoke(app, ["run", str(root), "--now", NOW])
    assert result.exit_code == 0, result.output
    return root


def pack_of(workspace: Path) -> Path:
    return Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())


def export(workspace: Path, out: Path, *options: str) -> Result:
    return runner.invoke(app, ["ledger", "checkpoint", str(workspace), "--out", str(out), *options])


def ledger_verify(workspace: Path, checkpoint: Path, *options: str) -> Result:
    return runner.invoke(app, ["ledger", "verify", str(workspace), "--checkpoint", str(checkpoint), *options])


def pack_verify(workspace: Path, checkpoint: Path, *options: str) -> Result:
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    return runner.invoke(app, [
        "verify", str(pack_of(workspace)), "--key", str(public_key), "--checkpoint", str(checkpoint), *options,
    ])


@pytest.fixture
def stamped(workspace: Path, tsa: Authority, tmp_path: Path) -> Path:
    out = tmp_path / "checkpoint.json"
    result = export(workspace, out, "--tsa", tsa.url)
    assert result.exit_code == 0, result.output
    return out


def token_of(checkpoint: Path) -> cms.ContentInfo:
    document = json.loads(checkpoint.read_bytes())
    return cms.ContentInfo.load(base64.b64decode(document["timestamp"]["token"]))


def test_checkpoint_stores_granted_token(stamped: Path, tsa: Authority) -> None:
    document = json.loads(stamped.read_bytes())
    stored = document["timestamp"]
    info = token_of(stamped)["content"]["encap_content_info"]["content"].parsed
    unstamped = {key: value for key, value in document.items() if key != "timestamp"}

    assert sorted(stored) == ["gen_time", "nonce", "token", "tsa"]
    assert stored["tsa"] == tsa.url
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(canonical(unstamped)).digest()
    assert info["nonce"].native == int(stored["nonce"])
    assert info["policy"].dotted == "1.2.3.4.1"


def test_token_verifies_with_openssl(stamped: Path, tsa: Authority, tmp_path: Path) -> None:
    document = json.loads(stamped.read_bytes())
    (tmp_path / "token.der").write_bytes(base64.b64decode(document["timestamp"]["token"]))

    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", checkpoint_digest(document).hex(), "-in", "token.der",
         "-token_in", "-CAfile", str(tsa.ca), "-untrusted", str(tsa.certificate)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "Verification: OK\n"


def test_ledger_verify_prints_gen_time(workspace: Path, stamped: Path, tsa: Authority) -> None:
    gen_time = json.loads(stamped.read_bytes())["timestamp"]["gen_time"]

    result = ledger_verify(workspace, stamped, "--tsa-cert", str(tsa.ca))

    assert result.exit_code == 0, result.output
    assert (
        f"ok: RFC 3161 timestamp of the checkpoint verifies: genTime {gen_time}, signed by "
        f"Common Name: Test TSA (the certificate in {tsa.ca})"
    ) in result.stdout.splitlines()


def test_ledger_verify_embedded_certificate(workspace: Path, stamped: Path) -> None:
    result = ledger_verify(workspace, stamped)

    assert result.exit_code == 0, result.output
    assert any(
        line.startswith("ok: RFC 3161 timestamp of the checkpoint verifies: genTime ")
        and line.endswith("(the certificate embedded in the token; pass --tsa-cert to pin the TSA)")
        for line in result.stdout.splitlines()
    ), result.stdout


def test_pack_verify_checks_token(workspace: Path, stamped: Path, tsa: Authority) -> None:
    gen_time = json.loads(stamped.read_bytes())["timestamp"]["gen_time"]

    result = pack_verify(workspace, stamped, "--tsa-cert", str(tsa.certificate))

    assert result.exit_code == 0, result.output
    assert (
        f"ok: RFC 3161 timestamp of the checkpoint verifies: genTime {gen_time}, signed by "
        f"Common Name: Test TSA (the certificate in {tsa.certificate})"
    ) in result.stdout.splitlines()


def test_token_of_other_checkpoint_exits_4(workspace: Path, stamped: Path, tsa: Authority, tmp_path: Path) -> None:
    document = json.loads(stamped.read_bytes())
    # The same token on a checkpoint whose content differs: the imprint no longer matches.
    document["workspace"] = "another workspace"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document), encoding="utf-8")

    for result in (ledger_verify(workspace, other, "--tsa-cert", str(tsa.ca)),
                   pack_verify(workspace, other, "--tsa-cert", str(tsa.ca))):
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith(f"FAILED: {other}: timestamp: the timestamp token's message imprint (sha256 ")
        assert result.stderr.endswith("the token timestamps other data\n")


def test_tampered_token_exits_4(workspace: Path, stamped: Path, tsa: Authority) -> None:
    document = json.loads(stamped.read_bytes())
    token = token_of(stamped)
    signer_info = token["content"]["signer_infos"][0]
    signature = bytearray(signer_info["signature"].native)
    signature[len(signature) // 2] ^= 0x01
    signer_info["signature"] = bytes(signature)
    document["timestamp"]["token"] = base64.b64encode(token.dump(force=True)).decode()
    stamped.write_text(json.dumps(document), encoding="utf-8")

    result = ledger_verify(workspace, stamped, "--tsa-cert", str(tsa.ca))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: {stamped}: timestamp: the token's CMS signature does not verify")


def test_wrong_nonce_exits_4(workspace: Path, stamped: Path, tsa: Authority) -> None:
    document = json.loads(stamped.read_bytes())
    document["timestamp"]["nonce"] = str(int(document["timestamp"]["nonce"]) + 1)
    stamped.write_text(json.dumps(document), encoding="utf-8")

    result = pack_verify(workspace, stamped, "--tsa-cert", str(tsa.ca))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: {stamped}: timestamp: the timestamp token's nonce ")


def test_other_authority_certificate_exits_4(
    workspace: Path, stamped: Path, tmp_path: Path
) -> None:
    make_authority(tmp_path / "other-tsa", "Other TSA")

    result = ledger_verify(workspace, stamped, "--tsa-cert", str(tmp_path / "other-tsa" / "ca.pem"))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: {stamped}: timestamp: the token's signer is not the trusted TSA certificate")


def test_tsa_cert_without_token_exits_4(workspace: Path, tsa: Authority, tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    assert export(workspace, plain).exit_code == 0

    result = ledger_verify(workspace, plain, "--tsa-cert", str(tsa.ca))
    skipped = ledger_verify(workspace, plain)

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: {plain}: the checkpoint has no RFC 3161 timestamp token")
    assert skipped.exit_code == 0, skipped.output
    assert f"skipped: {plain} carries no RFC 3161 timestamp token" in skipped.stdout.splitlines()


def test_unreadable_tsa_cert_exits_5(workspace: Path, stamped: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n", encoding="ascii")

    result = ledger_verify(workspace, stamped, "--tsa-cert", str(tmp_path / "bad.pem"))

    assert result.exit_code == 5, result.output
    assert result.stderr.startswith(f"FAILED: {tmp_path / 'bad.pem'}: not a PEM or DER certificate")


def test_http_error_exits_5(workspace: Path, tsa: Authority, tmp_path: Path) -> None:
    tsa.respond = lambda _query: (503, b"busy")
    out = tmp_path / "checkpoint.json"

    result = export(workspace, out, "--tsa", tsa.url)

    assert result.exit_code == 5, result.output
    assert result.stderr == (
        f"error: time-stamp authority {tsa.url}: HTTP 503 Service Unavailable; expected 200 with a "
        "time-stamp reply\n"
    )
    assert not out.exists()


def test_rejected_request_exits_5(workspace: Path, tsa: Authority, tmp_path: Path) -> None:
    status = tsp.PKIStatusInfo({
        "status": "rejection", "status_string": ["policy not supported"],
        "fail_info": tsp.PKIFailureInfo({"unaccepted_policy"}),
    }).dump()
    # TimeStampResp is SEQUENCE { status, timeStampToken OPTIONAL }; asn1crypto
    # cannot encode it without the token, so the DER is built by hand.
    rejection = b"\x30" + bytes([len(status)]) + status
    tsa.respond = lambda _query: (200, rejection)
    out = tmp_path / "checkpoint.json"

    result = export(workspace, out, "--tsa", tsa.url)

    assert result.exit_code == 5, result.output
    assert result.stderr.startswith(
        f"error: time-stamp authority {tsa.url}: request not granted (status rejection: "
    )
    assert "policy not supported" in result.stderr
    assert not out.exists()


def test_reply_for_other_request_rejected(workspace: Path, tsa: Authority, tmp_path: Path) -> None:
    # A reply to a request for other data, as a replayed or misrouted reply would be.
    other = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": bytes(32)},
        "nonce": 7, "cert_req": True,
    }).dump()
    tsa.respond = lambda _query: (200, openssl_reply(tsa.folder, other))
    out = tmp_path / "checkpoint.json"

    result = export(workspace, out, "--tsa", tsa.url)

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"error: the reply of {tsa.url}: the timestamp token's message imprint")
    assert not out.exists()


def test_unreachable_authority_exits_5(workspace: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "checkpoint.json"

    result = export(workspace, out, "--tsa", f"http://127.0.0.1:{port}/tsa")

    assert result.exit_code == 5, result.output
    assert result.stderr.startswith(f"error: time-stamp authority http://127.0.0.1:{port}/tsa: request failed")
    assert not out.exists()


def test_tsa_cert_without_checkpoint_exits_2(workspace: Path, tsa: Authority) -> None:
    result = runner.invoke(app, ["ledger", "verify", str(workspace), "--tsa-cert", str(tsa.ca)])

    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --tsa-cert checks the timestamp of a checkpoint; give --checkpoint FILE too\n"
