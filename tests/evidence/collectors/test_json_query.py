from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.json_query import JsonQuery, JsonQueryParams

DATA = Path(__file__).resolve().parents[2] / "data"
NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


def collect(path: str, facts: dict[str, str], workspace: Path = DATA, **params):
    context = CollectContext(workspace=workspace, now=NOW)
    return JsonQuery().collect(JsonQueryParams(path=path, facts=facts, **params), context)


# Kubernetes ClusterRoles (JSON)


def test_cluster_role_names():
    facts = collect("json/clusterroles.json", {"roles": "items[].metadata.name"}).facts
    assert facts["roles"] == ["cluster-admin", "tenant-api-reader", "secrets-operator"]


def test_cluster_roles_with_wildcard_verbs():
    query = "items[?rules[?contains(verbs, '*')]].metadata.name"
    facts = collect("json/clusterroles.json", {"wildcard_roles": query}).facts
    assert facts["wildcard_roles"] == ["cluster-admin", "secrets-operator"]


def test_cluster_roles_reading_secrets():
    # Rules with nonResourceURLs have no resources, and contains() rejects null.
    query = "length(items[?rules[?contains(resources || `[]`, 'secrets')]])"
    facts = collect("json/clusterroles.json", {"secret_readers": query}).facts
    assert facts["secret_readers"] == 1


def test_label_key_with_dots_quoted():
    query = "items[0].metadata.labels.\"kubernetes.io/bootstrapping\""
    facts = collect("json/clusterroles.json", {"bootstrapping": query}).facts
    assert facts["bootstrapping"] == "rbac-defaults"


def test_artifact_is_the_document():
    collected = collect("json/clusterroles.json", {"kind": "kind"})
    assert collected.artifacts == [(DATA / "json" / "clusterroles.json").resolve()]
    assert collected.observed_at is None


# Application roles (YAML)


def test_yaml_role_names_and_admin_count():
    facts = collect("json/roles.yaml", {"roles": "roles[].name", "admin_count": "length(roles[?admin])"}).facts
    assert facts == {"roles": ["viewer", "operator", "owner"], "admin_count": 1}


def test_yaml_no_stays_text():
    facts = collect("json/roles.yaml", {"countries": "countries"}).facts
    assert facts["countries"] == ["SE", "NO"]


def test_yaml_unquoted_version_is_a_number():
    # YAML 1.2 reads an unquoted 1.10 as the number 1.1; the quoted one keeps its text.
    facts = collect("json/roles.yaml", {"version": "version", "quoted": "quoted_version"}).facts
    assert facts["version"] == 1.1
    assert facts["quoted"] == "1.10"


def test_yaml_booleans_and_integers():
    facts = collect("json/roles.yaml", {"mfa": "mfa_required", "timeout": "session_timeout_minutes"}).facts
    assert facts["mfa"] is True
    assert facts["timeout"] == 30


def test_integer_beyond_double_precision_as_text():
    facts = collect("json/roles.yaml", {"accounts": "account_ids"}).facts
    assert facts["accounts"] == ["9007199254740993"]


def test_integer_two_to_53_as_text(tmp_path):
    # RFC 8785 represents integers up to 2**53 - 1 exactly. 2**53 itself once stayed a number.
    (tmp_path / "ids.json").write_text('{"a": 9007199254740992, "b": 9007199254740991}', encoding="utf-8")
    facts = collect("ids.json", {"a": "a", "b": "b"}, workspace=tmp_path).facts
    assert facts["a"] == "9007199254740992"
    assert facts["b"] == 9007199254740991


def test_yaml_lone_surrogate_rejected(tmp_path):
    (tmp_path / "doc.yaml").write_text('a: "\\ud800"\n', encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("doc.yaml", {"a": "a"}, workspace=tmp_path)
    assert str(caught.value) == ("doc.yaml:1:4: a: text contains the lone UTF-16 surrogate \\ud800, "
                                 "which is not a Unicode character; write the character itself")


def test_yaml_number_beyond_double_rejected(tmp_path):
    (tmp_path / "doc.yaml").write_text("a: 1e999\n", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("doc.yaml", {"a": "a"}, workspace=tmp_path)
    assert str(caught.value) == "doc.yaml:1:4: a: number 1e999 is out of the range of a 64-bit float"


def test_empty_list_is_a_value():
    facts = collect("json/roles.yaml", {"deleters": "roles[?contains(permissions, 'roles.delete')].name"}).facts
    assert facts["deleters"] == []


# Absent facts and errors


def test_missing_key_makes_fact_absent():
    collected = collect("json/roles.yaml", {"owners": "owners", "roles": "roles[].name"})
    assert "owners" not in collected.facts
    assert collected.absent == {"owners": "query 'owners' matched nothing"}
    assert collected.facts["roles"] == ["viewer", "operator", "owner"]


def test_bad_expression_names_fact():
    with pytest.raises(ValidationError, match="fact 'admins': invalid JMESPath expression 'roles\\[\\?admin'"):
        JsonQueryParams(path="json/roles.yaml", facts={"admins": "roles[?admin"})


def test_bad_token_names_position():
    with pytest.raises(ValidationError, match="unexpected '&&' at character 1"):
        JsonQueryParams(path="json/roles.yaml", facts={"both": "&& roles"})


def test_unknown_function_rejected():
    with pytest.raises(ValidationError, match="unknown JMESPath function count\\(\\)"):
        JsonQueryParams(path="json/roles.yaml", facts={"n": "count(roles)"})


def test_fact_name_must_be_identifier():
    with pytest.raises(ValidationError, match="'admin-count' is not an identifier"):
        JsonQueryParams(path="json/roles.yaml", facts={"admin-count": "length(roles)"})


def test_no_facts_rejected():
    with pytest.raises(ValidationError, match="at least 1 item"):
        JsonQueryParams(path="json/roles.yaml", facts={})


def test_type_error_in_query():
    with pytest.raises(CollectorError, match="fact 'n': query 'length\\(mfa_required\\)' failed"):
        collect("json/roles.yaml", {"n": "length(mfa_required)"})


def test_nonexistent_path():
    with pytest.raises(EvidenceMissing, match="no such file"):
        collect("json/no-such-file.yaml", {"roles": "roles"})


def test_unknown_extension_needs_format(tmp_path):
    (tmp_path / "roles.conf").write_text('{"roles": ["a"]}', encoding="utf-8")
    with pytest.raises(CollectorError, match="set format: json or format: yaml"):
        collect("roles.conf", {"roles": "roles"}, tmp_path)
    assert collect("roles.conf", {"roles": "roles"}, tmp_path, format="json").facts["roles"] == ["a"]


def test_json_duplicate_key_rejected(tmp_path):
    (tmp_path / "roles.json").write_text('{"admin": false, "admin": true}', encoding="utf-8")
    with pytest.raises(CollectorError, match="key 'admin' appears twice"):
        collect("roles.json", {"admin": "admin"}, tmp_path)


def test_json_number_beyond_double_rejected(tmp_path):
    (tmp_path / "big.json").write_text('{"limit": 1e400}', encoding="utf-8")
    with pytest.raises(CollectorError, match="fact 'limit': query 'limit' returned inf"):
        collect("big.json", {"limit": "limit"}, tmp_path)


def test_yaml_syntax_error_located(tmp_path):
    (tmp_path / "roles.yaml").write_text("roles:\n  - name: a\n   admin: true\n", encoding="utf-8")
    with pytest.raises(CollectorError, match="roles.yaml:3:"):
        collect("roles.yaml", {"roles": "roles"}, tmp_path)


def test_yaml_duplicate_key_rejected(tmp_path):
    (tmp_path / "roles.yaml").write_text("admin: false\nadmin: true\n", encoding="utf-8")
    with pytest.raises(CollectorError, match="duplicate key 'admin' \\(lines 1 and 2\\)"):
        collect("roles.yaml", {"admin": "admin"}, tmp_path)
