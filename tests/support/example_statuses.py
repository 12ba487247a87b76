"""Statuses of the example workspace's controls at the demo clock, worked out by hand.

The statuses were read off the inputs in examples/platform at
2026-12-04T21:15:00Z and the thresholds in its assay.yaml, control by
control. A comment names the input value that decides each row that is not
a plain `missing` (input file absent) or `manual` (no attestation recorded).
"""

EXAMPLE_STATUSES = {
    # pgbackrest-info.json: the newest full backup of stanza corpus is
    # 6958 s old, within full_backup_max_age_seconds (93600).
    "BAK-01": "pass",
    # pgbackrest-info.json: the newest incremental backup is 6875 s old,
    # above incremental_max_interval_seconds (3600).
    "BAK-02": "fail",
    # pgbackrest-info.json: the oldest backup is 0.08 days old, below
    # backup_retention_min_days (30).
    "BAK-03": "fail",
    # pgbackrest-logs/*.log: a measured recovery point of 4.866 s, under
    # rpo_max_seconds (900), and no WAL push failed.
    "BAK-04": "pass",
    # pgbackrest-logs/corpus-backup.log: the last backup run completed
    # 6874 s before NOW.
    "BAK-05": "pass",
    # restic-snapshots.json: the oldest snapshot is 0.08 days old, below 30.
    "BAK-06": "fail",
    "BAK-07": "missing",
    # Set not_applicable in the example: the platform does not use wal-g.
    "BAK-08": "not_applicable",
    # k6-summary.json: p50 23 ms, p95 75 ms and p99 97 ms, under 1000,
    # 3000 and 5000 ms.
    "CAP-01": "pass",
    # k6-summary.json: http_req_failed rate 0.0709 > 0.001, and two k6
    # thresholds failed.
    "CAP-02": "fail",
    # k6-summary.json: 7.03 requests per second < 100.
    "CAP-03": "fail",
    "CAP-04": "missing",
    # locust_stats.csv: the Aggregated row fails 2.17 % of requests > 0.1 %.
    "CAP-05": "fail",
    # Set not_applicable in the example: the platform does not use JMeter.
    "CAP-06": "not_applicable",
    # prometheus-memory.json: one worker grows by about 346 MB per hour,
    # above memory_growth_max_bytes_per_hour (10 MiB).
    "CAP-07": "fail",
    "CAP-08": "missing",
    "CHG-01": "missing",
    "CHG-02": "missing",
    # drill/restore-drill.json: a recovery time of 9.3 s, under
    # rto_max_seconds (3600), with the data verified and no step failed.
    "DR-01": "pass",
    # drill/restore-drill.json: the drill is 714 s old, within
    # drill_max_age_seconds (92 days).
    "DR-02": "pass",
    "DSP-01": "missing",
    # pgbackrest-info.json: the oldest backup is 0.08 days old, within
    # backup_retention_max_days (90).
    "DSP-02": "pass",
    "DSP-03": "missing",
    "ENC-01": "missing",
    "ENC-02": "missing",
    "ENC-03": "missing",
    "ENC-04": "missing",
    "GOV-01": "manual",
    "GOV-02": "manual",
    "GOV-03": "manual",
    "GOV-04": "manual",
    "GOV-05": "manual",
    # rbac.yaml: tenant-reader, tenant-writer and tenant-admin exist, and
    # no role with data:read is outside a tenant.
    "IAM-01": "pass",
    "IAM-02": "missing",
    "IAM-03": "missing",
    "IAM-04": "missing",
    "IAM-05": "manual",
    # runbooks/: incident-response.md and disaster-recovery.md exist.
    "IR-01": "pass",
    "IR-02": "manual",
    # junit-tenant-isolation.xml: 9 data isolation tests (< 15), 3 failed and 2 errors.
    "ISO-01": "fail",
    # junit-tenant-isolation.xml: 7 auth isolation tests (< 12), 1 failed.
    "ISO-02": "fail",
    # junit-tenant-isolation.xml: 6 quota isolation tests (< 8), 1 failed.
    "ISO-03": "fail",
    "KEY-01": "missing",
    # cloudtrail/: 20 events, every log file matches its digest and every
    # digest signature verifies, but one event stopped the trail's logging.
    "LOG-01": "fail",
    # Only the trail's files are present, not describe-trails or get-trail-status.
    "LOG-02": "missing",
    # audit/audit-chain.jsonl: 8 events, all with an actor, and the longest
    # gap is 210 s, under audit_max_gap_seconds (3600).
    "LOG-03": "pass",
    # postgresql/pg15-csvlog-audit-phase2.csv: has pgAudit records.
    "LOG-04": "pass",
    "LOG-05": "missing",
    "LOG-06": "missing",
    # k8s-audit/kube-apiserver-audit.log: 17 requests, and every role
    # binding write is logged with its body.
    "LOG-07": "pass",
    # audit/audit-chain.jsonl: every prev_hash matches the hash of the event
    # before, and role.grant, role.revoke and audit.export each appear once.
    "LOG-08": "pass",
    "MON-01": "missing",
    "MON-02": "missing",
    # cloudtrail/: one ConsoleLogin without MFA.
    "MON-03": "fail",
    # k8s-audit/kube-apiserver-audit.log: one binding to cluster-admin.
    "MON-04": "fail",
    "NET-01": "missing",
    "PHY-01": "manual",
    # policies/: the five adopted policies are approved by someone other
    # than their owner, and all but backup-and-recovery.md are within their
    # next_review date.
    "POL-01": "pass",
    "POL-02": "pass",
    "POL-03": "pass",
    # policies/encryption.md, key-management.md, data-protection.md,
    # vendor-management.md and acceptable-use.md are unadopted templates.
    "POL-04": "missing",
    "POL-05": "missing",
    "POL-06": "missing",
    # policies/backup-and-recovery.md: approved 2025-10-01 without
    # next_review, so its review fell due 365 days later, before NOW.
    "POL-07": "fail",
    "POL-08": "pass",
    "POL-09": "missing",
    "POL-10": "missing",
    "RSK-01": "manual",
    # No inputs/risk-register.* file.
    "RSK-02": "missing",
    "VEN-01": "manual",
    "VUL-01": "missing",
}
