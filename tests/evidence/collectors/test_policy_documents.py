from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.policy_documents import PolicyDocuments, PolicyDocumentsParams

DATA = Path(__file__).resolve().parents[2] / "data" / "policies"
NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


def collect(path: str, workspace: Path = DATA, **params):
    context = CollectContext(workspace=workspace, now=NOW)
    return PolicyDocuments().collect(PolicyDocumentsParams(path=path, **params), context)


def test_implicit_types_keep_their_text():
    entry = collect("26-policy-frontmatter-implicit-types.md").facts["by_document"]["POL-AC-001"]
    assert entry["version"] == "1.10"
    assert entry["approved_at"] == "2024-02-27T15:30:00.000000Z"
    assert entry["effective"] == "2024-03-01T00:00:00.000000Z"
    assert entry["other"]["review_time"] == "10:30"
    assert entry["other"]["jurisdictions"] == ["SE", "NO"]


def test_document_without_approver_is_unapproved():
    facts = collect("26-policy-frontmatter-implicit-types.md").facts
    assert facts["unapproved"] == ["POL-AC-001"]
    assert facts["all_approved"] is False


def test_review_due_one_interval_after_approval():
    facts = collect("26-policy-frontmatter-implicit-types.md").facts
    assert facts["by_document"]["POL-AC-001"]["next_review"] == "2025-02-26T15:30:00.000000Z"
    assert facts["review_overdue"] == ["POL-AC-001"]


def test_platform_policies_approved_and_current():
    facts = collect("platform/*.md").facts
    assert facts["documents"] == 2
    assert facts["all_approved"] is True
    assert facts["review_overdue"] == ["backup-and-recovery"]
    security = facts["by_document"]["information-security"]
    assert security["version"] == "3.2"
    assert security["approved_at"] == "2026-03-02T08:00:00.000000Z"
    assert security["next_review"] == "2027-03-01T00:00:00.000000Z"
    backup = facts["by_document"]["backup-and-recovery"]
    assert backup["days_since_approval"] == 429.844
    assert backup["next_review"] == "2026-10-01T00:00:00.000000Z"
    assert facts["max_days_since_approval"] == 429.844


def test_byte_order_mark_skipped():
    raw = (DATA / "platform" / "information-security.md").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert collect("platform/information-security.md").facts["documents"] == 1


def test_required_policy_missing_fails():
    collected = collect("platform/*.md", require=["information-security", "incident-response"])
    assert collected.facts["missing"] == ["incident-response"]
    assert collected.failures == ["required policy 'incident-response' not found"]


def test_instant_without_offset_rejected(tmp_path):
    (tmp_path / "p.md").write_text("---\napprover: CEO\napproved_at: 2024-02-27T16:30:00\n---\n", encoding="utf-8")
    with pytest.raises(CollectorError, match="neither a date"):
        collect("p.md", workspace=tmp_path)


def test_unquoted_number_for_text_field_kept_as_text(tmp_path):
    (tmp_path / "p.md").write_text("---\ntitle: 42\nversion: 2.10\n---\n", encoding="utf-8")
    entry = collect("p.md", workspace=tmp_path).facts["by_document"]["p"]
    assert entry["title"] == "42"
    assert entry["version"] == "2.10"


def test_missing_front_matter_rejected(tmp_path):
    (tmp_path / "p.md").write_text("# Policy\n", encoding="utf-8")
    with pytest.raises(CollectorError, match="no front matter"):
        collect("p.md", workspace=tmp_path)


def test_unclosed_front_matter_rejected(tmp_path):
    (tmp_path / "p.md").write_text("---\ntitle: x\n", encoding="utf-8")
    with pytest.raises(CollectorError, match="not closed"):
        collect("p.md", workspace=tmp_path)


def test_duplicate_key_in_front_matter_positioned(tmp_path):
    (tmp_path / "p.md").write_text("---\ntitle: a\ntitle: b\n---\n", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("p.md", workspace=tmp_path)
    assert str(caught.value) == "p.md:3:1: title: duplicate key 'title' (lines 2 and 3)"


def test_invalid_utf8_positioned(tmp_path):
    (tmp_path / "p.md").write_bytes(b"---\ntitle: \xff\n---\n")
    with pytest.raises(CollectorError) as caught:
        collect("p.md", workspace=tmp_path)
    assert caught.value.location == "2:8"


def test_no_match_is_missing_evidence(tmp_path):
    with pytest.raises(EvidenceMissing):
        collect("policies/*.md", workspace=tmp_path)
