"""Real sample inputs of every file-reading collector, with the parameters to read them.

Each `Sample` is one collector run: the files of a small workspace (copied
from tests/data), the collector parameters, and the file the byte
mutations edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Sample:
    collector: str
    source: str  # path under tests/data of the file the mutations edit
    params: dict[str, Any]
    # The mutated file's name in the workspace, when it differs from `params["path"]`.
    target: str | None = None
    # Other files the run needs, unchanged: workspace name -> path under tests/data.
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def target_name(self) -> str:
        return self.target if self.target is not None else self.params["path"]

    @property
    def id(self) -> str:
        return f"{self.collector}:{Path(self.source).name}"

    def original(self) -> bytes:
        return (DATA / self.source).read_bytes()

    def files(self, content: bytes) -> dict[str, bytes]:
        files = {name: (DATA / source).read_bytes() for name, source in self.extra.items()}
        files[self.target_name] = content
        return files


def _one(collector: str, source: str, name: str, **params: Any) -> Sample:
    return Sample(collector, source, {"path": name, **params})


CLOUDTRAIL_DAY = "cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/04"
CLOUDTRAIL_DIGEST_DAY = "cloudtrail/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/04"
CLOUDTRAIL_FILES = sorted(
    path.relative_to(DATA).as_posix()
    for path in (DATA / "cloudtrail" / "AWSLogs").rglob("*") if path.is_file()
)


def _cloudtrail(source: str) -> Sample:
    extra = {name: name for name in CLOUDTRAIL_FILES if name != source}
    extra["cloudtrail/test-public-key.ListPublicKeys.json"] = "cloudtrail/test-public-key.ListPublicKeys.json"
    return Sample("cloudtrail", source,
                  {"path": "cloudtrail/AWSLogs",
                   "public_key": "cloudtrail/test-public-key.ListPublicKeys.json"},
                  target=source, extra=extra)


def _drill(source: str, record: str) -> Sample:
    base = Path(record).parent
    extra = {
        path.relative_to(DATA).as_posix(): path.relative_to(DATA).as_posix()
        for path in (DATA / base).rglob("*") if path.is_file()
    }
    extra.pop(source, None)
    return Sample("drill.restore", source, {"path": record}, target=source, extra=extra)


SAMPLES: list[Sample] = [
    _one("k6.summary", "k6/k6-summary-export-default.json", "summary.json"),
    _one("k6.summary", "k6/k6-handleSummary-data-default.json", "summary.json"),
    _one("k6.summary", "k6/k6-v1.5-machine-readable-summary.json", "summary.json"),
    _one("k6.summary", "k6/09-k6-summary-export-threshold-bool-inverted.json", "summary.json"),
    _one("k6.summary", "k6/08-k6-summary-export-no-p99.json", "summary.json"),
    _one("k6.stream", "k6/k6-v0.49+-out-json.ndjson", "run.ndjson"),
    _one("k6.stream", "k6/10-k6-out-json-ndjson-mixed-offsets.ndjson", "run.ndjson"),
    _one("locust.csv", "locust/locust_stats.csv", "locust_stats.csv"),
    _one("locust.csv", "locust/locust-0.14-stats-old-columns.csv", "locust_stats.csv"),
    Sample("locust.csv", "locust/locust_stats_history.csv",
           {"path": "locust_stats.csv", "history": "locust_stats_history.csv"},
           target="locust_stats_history.csv",
           extra={"locust_stats.csv": "locust/locust_stats.csv"}),
    _one("junit", "junit/junit-pytest-9.2.0-default-xunit2.xml", "report.xml"),
    _one("junit", "junit/jest-junit-REAL-file-attribute-suite-errors.xml", "report.xml"),
    _one("junit", "junit/01-junit-nested-testsuites.xml", "report.xml"),
    _one("junit", "junit/gotestsum-1.8.2-build-failed-REAL.xml", "report.xml"),
    _one("junit", "junit/02-junit-testcase-missing-time.xml", "report.xml"),
    _one("junit", "junit/04-junit-skipped-and-failure.xml", "report.xml"),
    _one("junit", "junit/05-pytest-root-testsuite-no-wrapper.xml", "report.xml"),
    _one("jmeter.jtl", "jmeter/jmeter-2.13-default-columns.jtl", "results.jtl"),
    _one("jmeter.jtl", "jmeter/jmeter-2.13-extended-columns.jtl", "results.jtl"),
    _one("jmeter.jtl", "jmeter/jmeter-2.13-xml-slice.jtl", "results.jtl"),
    _one("jmeter.jtl", "jmeter/jmeter-quoted-fields.jtl", "results.jtl"),
    _one("pgbackrest.info", "pgbackrest/info-final.json", "info.json", stanza="corpus"),
    _one("pgbackrest.info", "pgbackrest/14-pgbackrest-info-multi-repo-stale-and-mixed.json",
         "info.json", stanza="main"),
    _one("pgbackrest.info", "pgbackrest/13-pgbackrest-info-empty-array.json", "info.json",
         stanza="main"),
    _one("pgbackrest.log", "pgbackrest/logs/corpus-backup.log", "backup.log"),
    _one("pgbackrest.log", "pgbackrest/logs/corpus-archive-push-async.log", "archive.log"),
    _one("restic.snapshots", "restic/snapshots-two-hosts.json", "snapshots.json"),
    _one("restic.snapshots", "restic/snapshots-group-by-host.json", "snapshots.json"),
    _one("restic.snapshots", "restic/17-restic-snapshots-json-time-precision-offsets.json",
         "snapshots.json"),
    _one("restic.snapshots", "restic/16-restic-snapshots-json-null.json", "snapshots.json"),
    _one("restic.check", "restic/check-terminal-damaged-pack.txt", "check.txt"),
    _one("restic.check", "restic/check.txt", "check.txt"),
    _one("walg.backups", "walg/backup-list-detail.json", "backups.json"),
    _one("walg.backups", "walg/backup-list-detail-compact.json", "backups.json"),
    _drill("drill/passed/restore-drill.json", "drill/passed/restore-drill.json"),
    _drill("drill/failed/restore-drill.json", "drill/failed/restore-drill.json"),
    _drill("drill/passed/logs/pgbackrest/drill-restore.log", "drill/passed/restore-drill.json"),
    _one("prometheus", "prometheus/query_range-process_resident_memory_bytes-2h.json", "query.json"),
    _one("prometheus", "prometheus/query-up-vector.json", "query.json"),
    _one("prometheus", "prometheus/query-scalar.json", "query.json"),
    _one("json", "json/clusterroles.json", "roles.json",
         facts={"roles": "items[].metadata.name", "count": "length(items)"}),
    _one("json", "json/roles.yaml", "roles.yaml",
         facts={"admins": "roles[?admin].name", "version": "version"}),
    _one("audit.jsonl", "audit/app-audit/app-audit-2026-12-04T19.jsonl", "audit.jsonl"),
    _one("audit.jsonl", "audit/app-audit/app-audit-2026-12-04T20.jsonl.gz", "audit.jsonl.gz"),
    _one("audit.jsonl", "audit/chained/audit-chain.jsonl", "audit.jsonl",
         hash_field="hash", prev_field="prev_hash"),
    _one("audit.jsonl", "audit/malformed/app-audit-malformed.jsonl", "audit.jsonl"),
    _one("k8s.audit", "k8s/kube-apiserver-audit.jsonl", "audit.jsonl"),
    _one("k8s.audit", "k8s/21-k8s-audit-same-auditid-multiple-stages.ndjson", "audit.jsonl"),
    _one("pgaudit", "audit/pg15-csvlog-audit-phase2.csv", "postgresql.csv"),
    _one("pgaudit", "audit/pg15-jsonlog-audit-phase2.json", "postgresql.json"),
    _one("pgaudit", "audit/pg15-stderr-pgaudit.log", "postgresql.log"),
    _one("policy.documents", "policies/platform/information-security.md", "policy.md"),
    _one("policy.documents", "policies/26-policy-frontmatter-implicit-types.md", "policy.md"),
    _one("policy.documents", "policies/29-policy-markdown-ssrf-local-file-refs.md", "policy.md"),
    # The command collector parses a program's stdout, which `cat` prints. The
    # output limit is raised because its error names no file, only the limit.
    Sample("command", "json/clusterroles.json",
           {"argv": ["cat", "stdout.json"], "parse": "json", "max_output_bytes": 256 * 1024**2},
           target="stdout.json"),
    Sample("files", "policies/platform/backup-and-recovery.md",
           {"paths": ["runbooks/*.md"]}, target="runbooks/restore.md"),
    _cloudtrail(f"{CLOUDTRAIL_DAY}/111122223333_CloudTrail_us-east-1_20261204T1405Z_sJ3BB5642LDgdINO.json.gz"),
    _cloudtrail(f"{CLOUDTRAIL_DIGEST_DAY}/111122223333_CloudTrail-Digest_us-east-1_org-audit-trail_us-east-1_20261204T150941Z.json.gz"),
    _cloudtrail(f"{CLOUDTRAIL_DIGEST_DAY}/111122223333_CloudTrail-Digest_us-east-1_org-audit-trail_us-east-1_20261204T150941Z.s3-object-metadata.json"),
    Sample("cloudtrail", "cloudtrail/test-public-key.ListPublicKeys.json",
           {"path": "cloudtrail/AWSLogs",
            "public_key": "cloudtrail/test-public-key.ListPublicKeys.json"},
           target="cloudtrail/test-public-key.ListPublicKeys.json",
           extra={name: name for name in CLOUDTRAIL_FILES}),
]
