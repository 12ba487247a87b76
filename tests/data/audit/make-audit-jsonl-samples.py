"""Write the SAMPLE JSON-lines audit logs of this folder, for the audit.jsonl collector's tests.

The events are made up, in the shape many web applications log: an RFC 3339
time, an actor object, a dotted action name, a target object, a tenant and a
result. The hash chains are computed here with the rfc8785 package and
hashlib, apart from the collector's own code, so the tests compare two
implementations. Run it from the repository root to write the files again:

    .venv/bin/python tests/data/audit/make-audit-jsonl-samples.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import rfc8785

HERE = Path(__file__).resolve().parent
GENESIS = "0" * 64


def _event(time: str, actor: str | None, action: str, target: str | None, tenant: str | None,
           result: str, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"time": time}
    if actor is not None:
        event["actor"] = {"id": actor, "type": "user" if "@" in actor else "service"}
    elif "no_actor_key" not in extra:
        event["actor"] = None
    extra.pop("no_actor_key", None)
    event["action"] = action
    event["target"] = None if target is None else {"id": target}
    if tenant is not None:
        event["tenant"] = tenant
    event["result"] = result
    event.update(extra)
    return event


# Two rotated parts of one log. Two events arrive late (a buffered writer
# flushed them after later events), and one of them falls inside the longest
# quiet period in line order, so the gap must be computed over sorted times.
PART_19 = [
    _event("2026-12-04T19:19:05.120Z", "alice@example.invalid", "user.login", "session/s-1001",
           "tenant-a", "success", source_ip="127.0.0.1"),
    _event("2026-12-04T19:19:42.003Z", "alice@example.invalid", "invoice.view",
           "invoice/2026-0042", "tenant-a", "success"),
    _event("2026-12-04T19:20:10.500Z", "bob@example.invalid", "user.login", "session/s-1002",
           "tenant-b", "failure", reason="invalid password"),
    _event("2026-12-04T19:20:14.250Z", "bob@example.invalid", "user.login", "session/s-1003",
           "tenant-b", "success"),
    _event("2026-12-04T20:21:30.000+01:00", "carol@example.invalid", "role.grant",
           "role/billing-admin", "tenant-a", "success", grantee="dave@example.invalid"),
    _event("2026-12-04T19:22:05Z", "carol@example.invalid", "audit.export",
           "Rechnung <&> Übersicht.pdf", "tenant-a", "success"),
    _event("2026-12-04T19:23:40Z", "dave@example.invalid", "invoice.delete",
           "invoice/2026-0017", "tenant-b", "denied"),
    _event("2026-12-04T19:24:02.5Z", None, "retention.purge", "audit/2026-09", None, "success",
           job="nightly-retention"),
    _event("2026-12-04T19:26:00Z", "erin@example.invalid", "user.logout", None, "tenant-b",
           "success"),
    _event("2026-12-04T19:25:10Z", "dave@example.invalid", "invoice.view", "invoice/2026-0017",
           "tenant-b", "success"),
    _event("2026-12-04T19:31:10Z", "alice@example.invalid", "user.logout", "session/s-1001",
           "tenant-a", "success"),
]
PART_20 = [
    _event("2026-12-04T19:52:40Z", "frank@example.invalid", "user.login", "session/s-1004",
           "tenant-c", "success"),
    _event("2026-12-04T19:40:00Z", None, "backup.verify", "backup/2026-12-04", None, "success",
           no_actor_key=True, job="backup-check"),
    _event("2026-12-04T19:53:05Z", "frank@example.invalid", "role.revoke", "role/support",
           "tenant-c", "success", grantee="erin@example.invalid"),
    _event("2026-12-04T15:55:30.250-04:00", "frank@example.invalid", "user.password_change",
           "user/frank", "tenant-c", "success"),
    _event("2026-12-04T20:00:59.999999Z", "alice@example.invalid", "user.logout",
           "session/s-1005", "tenant-a", "success"),
    _event("2026-12-04T20:01:00Z", "zoë.müller@example.invalid", "user.login", "session/s-1006",
           "tenant-c", "failure", reason="account locked"),
]

CHAIN = [
    {"seq": 1, "time": "2026-12-04T19:30:00.000Z", "actor": "svc-billing",
     "action": "invoice.create", "target": "invoice/2026-0101", "tenant": "tenant-a",
     "result": "success", "amount": 1250.5},
    {"seq": 2, "time": "2026-12-04T19:30:02.118Z", "actor": "svc-billing",
     "action": "invoice.create", "target": "invoice/2026-0102", "tenant": "tenant-b",
     "result": "success", "amount": 119.0},
    {"seq": 3, "time": "2026-12-04T19:31:45.900Z", "actor": "alice@example.invalid",
     "action": "invoice.view", "target": "Kunde Müller <&> Söhne", "tenant": "tenant-a",
     "result": "success"},
    {"seq": 4, "time": "2026-12-04T19:33:12.000Z", "actor": "carol@example.invalid",
     "action": "role.grant", "target": "role/billing-admin", "tenant": "tenant-a",
     "result": "success", "grantee": "dave@example.invalid"},
    {"seq": 5, "time": "2026-12-04T19:35:00.000Z", "actor": "dave@example.invalid",
     "action": "invoice.void", "target": "invoice/2026-0101", "tenant": "tenant-a",
     "result": "success"},
    {"seq": 6, "time": "2026-12-04T19:36:30.000Z", "actor": "dave@example.invalid",
     "action": "audit.export", "target": "audit/2026-12", "tenant": "tenant-a",
     "result": "denied"},
    {"seq": 7, "time": "2026-12-04T19:40:00.000Z", "actor": "carol@example.invalid",
     "action": "role.revoke", "target": "role/billing-admin", "tenant": "tenant-a",
     "result": "success", "grantee": "dave@example.invalid"},
    {"seq": 8, "time": "2026-12-04T19:41:00.000Z", "actor": "svc-billing",
     "action": "invoice.create", "target": "invoice/2026-0103", "tenant": "tenant-b",
     "result": "success", "amount": 0.1},
]
# The line of the chained log that the tampered copy edits (1-based).
TAMPERED_LINE = 6

MALFORMED = [
    json.dumps(_event("2026-12-04T19:32:00Z", "alice@example.invalid", "user.login",
                      "session/s-2001", "tenant-a", "success"), ensure_ascii=False),
    json.dumps(_event("2026-12-04T19:32:30Z", "alice@example.invalid", "invoice.view",
                      "invoice/2026-0042", "tenant-a", "success"), ensure_ascii=False),
    # The writer stopped in the middle of a line.
    '{"time": "2026-12-04T19:33:00Z", "actor": {"id": "bob@example.invalid"}, "action": "invo',
    "",
    '["not", "an", "event"]',
    # A time without a UTC offset.
    json.dumps(_event("2026-12-04 19:34:00", "bob@example.invalid", "user.login",
                      "session/s-2002", "tenant-b", "success")),
    # No time at all.
    json.dumps({"actor": {"id": "bob@example.invalid"}, "action": "user.logout",
                "tenant": "tenant-b", "result": "success"}),
    json.dumps(_event("2026-12-04T19:35:00Z", "bob@example.invalid", "user.login",
                      "session/s-2003", "tenant-b", "success")),
]


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def chained_lines(records: list[dict[str, Any]]) -> list[str]:
    """Link the records: prev_hash, then hash = SHA-256 of the RFC 8785 form without `hash`."""
    lines = []
    previous = GENESIS
    for record in records:
        linked = {**record, "prev_hash": previous}
        digest = hashlib.sha256(rfc8785.dumps(linked)).hexdigest()
        lines.append(_line({**linked, "hash": digest}))
        previous = digest
    return lines


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def main() -> None:
    _write(HERE / "app-audit" / "app-audit-2026-12-04T19.jsonl", [_line(e) for e in PART_19])
    part_20 = "".join(_line(e) + "\n" for e in PART_20).encode("utf-8")
    # mtime=0 keeps the gzip bytes the same on every run.
    (HERE / "app-audit" / "app-audit-2026-12-04T20.jsonl.gz").write_bytes(
        gzip.compress(part_20, mtime=0)
    )

    chain = chained_lines(CHAIN)
    _write(HERE / "chained" / "audit-chain.jsonl", chain)
    tampered = list(chain)
    edited = tampered[TAMPERED_LINE - 1].replace('"result":"denied"', '"result":"success"')
    assert edited != tampered[TAMPERED_LINE - 1]
    tampered[TAMPERED_LINE - 1] = edited
    _write(HERE / "chained-tampered" / "audit-chain.jsonl", tampered)

    _write(HERE / "malformed" / "app-audit-malformed.jsonl", MALFORMED)


if __name__ == "__main__":
    main()
