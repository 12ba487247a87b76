"""The example workspace (examples/platform) is built on the shipped SOC 2 library.

Its controls are the library's files, as `assay init` writes them, with only
two changes a team makes to adopt the library. The pgBackRest stanza is the
platform's (`corpus` instead of `main`), and the controls of tools the
platform does not use end with `not_applicable:`. Its thresholds are the
library's params, and its policies are the library's templates.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from assay.catalog.scaffold import library_controls, library_params_text, library_policies

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
LIBRARY_STANZA = "stanza: main}"
EXAMPLE_STANZA = "stanza: corpus}"
# Controls of tools the platform does not use, with the line the example appends.
NOT_APPLICABLE = {
    "bak-08-walg-backups.yaml":
        "not_applicable: The platform backs up PostgreSQL with pgBackRest (BAK-01 to BAK-05), "
        "not wal-g.\n",
    "cap-06-jmeter-load.yaml":
        "not_applicable: The platform load-tests with k6 (CAP-01 to CAP-03) and Locust "
        "(CAP-05), not JMeter.\n",
}
# Policies the platform has adopted; the others are still the library's templates.
ADOPTED = {
    "access-control.md", "backup-and-recovery.md", "change-management.md",
    "incident-response.md", "information-security.md",
}


def _yaml(text: str) -> object:
    return YAML(typ="safe", pure=True).load(text)


def _front_matter(text: str) -> tuple[dict, str]:
    _, matter, body = text.split("---\n", 2)
    return _yaml(matter), body


def test_example_has_exactly_the_library_control_files() -> None:
    names = sorted(path.name for path in (EXAMPLE / "controls").iterdir())

    assert names == [item.name for item in library_controls()]


@pytest.mark.parametrize("item", library_controls(), ids=lambda item: item.name)
def test_example_control_is_the_library_control(item) -> None:
    example = (EXAMPLE / "controls" / item.name).read_text(encoding="utf-8")

    expected = item.text.replace(LIBRARY_STANZA, EXAMPLE_STANZA) + NOT_APPLICABLE.get(item.name, "")
    assert example == expected


def test_only_pgbackrest_controls_change_the_stanza() -> None:
    changed = sorted(item.name for item in library_controls() if LIBRARY_STANZA in item.text)

    # The stanza of every pgBackRest source, and nothing else, differs.
    assert changed == [
        "bak-01-full-backup.yaml", "bak-02-incremental-backups.yaml", "bak-03-retention.yaml",
        "bak-04-recovery-point.yaml", "bak-05-backup-runs.yaml", "dsp-02-backup-expiry.yaml",
    ]
    assert '"corpus"' in (EXAMPLE / "inputs" / "pgbackrest-info.json").read_text(encoding="utf-8")


def test_example_params_are_the_library_params() -> None:
    config = _yaml((EXAMPLE / "assay.yaml").read_text(encoding="utf-8"))

    assert config["params"] == _yaml(library_params_text())
    # The platform's targets.
    params = config["params"]
    assert (params["latency_p50_ms"], params["latency_p95_ms"], params["latency_p99_ms"]) == (
        1000, 3000, 5000
    )
    assert params["error_rate_max_ratio"] == 0.001
    assert params["throughput_min_rps"] == 100
    assert params["rto_max_seconds"] == 3600
    assert params["rpo_max_seconds"] == 900
    assert params["incremental_max_interval_seconds"] == 3600
    assert params["backup_retention_min_days"] == 30


@pytest.mark.parametrize(("name", "template"), library_policies(), ids=lambda value: value[:30])
def test_example_policy_is_the_library_template(name: str, template: str) -> None:
    example = (EXAMPLE / "policies" / name).read_text(encoding="utf-8")
    if name not in ADOPTED:
        assert example == template
        return
    matter, body = _front_matter(example)
    template_matter, template_body = _front_matter(template)
    # Adopted: approver and approval date filled in, the other fields kept.
    assert matter["approver"] and matter["approved_at"]
    assert matter["approver"] != matter["owner"]
    for field in ("title", "policy_id", "controls"):
        assert matter[field] == template_matter[field]
    # The body is the template's, with the platform's own statement in place
    # of the template's opening advice.
    starter = re.compile(r"This template is a starting point\..*?\n\n", re.S)
    assert starter.search(template_body)
    statement = body.split("\n\n")[1] + "\n\n"
    assert "template" not in statement
    assert starter.sub(lambda _match: statement, template_body, count=1) == body


def test_example_policies_are_the_library_templates() -> None:
    names = sorted(path.name for path in (EXAMPLE / "policies").iterdir())

    assert names == [name for name, _text in library_policies()]
