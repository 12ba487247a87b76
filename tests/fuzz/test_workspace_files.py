"""Mutated and generated workspace files never crash the workspace loader.

The loader must return the workspace or raise ConfigError whose every
problem names the file it is about.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.controls.loader import Workspace, load_workspace
from assay.errors import ConfigError, WorkspaceErrors
from fuzz.harness import check_error_names, run_loader, scratch_workspace, write_files
from fuzz.mutations import mutated
from fuzz.samples import DATA
from fuzz.strategies import cel_expressions, hostile_yaml_values, yaml_text
from fuzz.workspace_files import FILES

NAMES = sorted(FILES)


def load(files: dict[str, bytes]) -> Workspace | ConfigError:
    with scratch_workspace() as root:
        write_files(root, files)
        result = run_loader(lambda: load_workspace(root), NAMES, (ConfigError,))
    if isinstance(result, WorkspaceErrors):
        assert result.problems
        for problem in result.problems:
            check_error_names(ConfigError(problem), NAMES)
    return result


def test_unmutated_workspace_loads() -> None:
    result = load(dict(FILES))
    assert isinstance(result, Workspace), result
    assert [item.control.id for item in result.controls] == ["FZ-01"]
    assert len(result.waivers) == 1


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_mutated_workspace_file_loads_or_fails_cleanly(name: str, data: st.DataObject) -> None:
    files = dict(FILES)
    files[name] = data.draw(mutated(FILES[name]), label=name)
    load(files)


@pytest.mark.parametrize("name", ["assay.yaml", "controls/fz-01.yaml", "waivers/fz-01.yaml"])
@given(data=st.data())
def test_generated_yaml_document_loads_or_fails_cleanly(name: str, data: st.DataObject) -> None:
    files = dict(FILES)
    files[name] = data.draw(yaml_text(hostile_yaml_values()), label=name)
    load(files)


FIELDS: dict[str, list[str]] = {
    "assay.yaml": ["name", "framework", "categories", "scope", "params", "signing_key",
                   "trusted_keys", "ledger", "people", "allow_command"],
    "controls/fz-01.yaml": ["id", "title", "description", "criteria", "owner", "policies",
                            "evidence", "assert", "remediation", "manual", "frequency"],
    "waivers/fz-01.yaml": ["control", "scope", "justification", "owner", "approver", "created",
                           "expires", "remediation"],
}


@pytest.mark.parametrize("name", sorted(FIELDS))
@given(data=st.data())
def test_field_replaced_by_hostile_value(name: str, data: st.DataObject) -> None:
    # Replace one field of a valid file, so the rest of it still reaches validation.
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    document: dict[str, Any] = yaml.load(FILES[name])
    key = data.draw(st.sampled_from(FIELDS[name]), label="field")
    document[key] = data.draw(hostile_yaml_values(), label="value")
    files = dict(FILES)
    files[name] = data.draw(yaml_text(st.just(document)), label=name)
    load(files)


@given(expression=cel_expressions())
def test_generated_assertion_loads_or_fails_cleanly(expression: str) -> None:
    from fuzz.strategies import yaml_quoted

    control = FILES["controls/fz-01.yaml"].replace(
        b"k6.p99_ms < params.latency_p99_ms && size(params.tenant_roles) > 0",
        yaml_quoted(expression).encode("utf-8"),
    )
    files = dict(FILES)
    files["controls/fz-01.yaml"] = control
    load(files)


@given(front=st.data())
def test_generated_policy_front_matter_loads_or_fails_cleanly(front: st.DataObject) -> None:
    body = front.draw(yaml_text(hostile_yaml_values()), label="front matter")
    files = dict(FILES)
    files["policies/access-control.md"] = b"---\n" + body + b"\n---\n\n# Policy\n"
    load(files)


CONTROL_SAMPLES = sorted(path.name for path in (DATA / "controls").glob("*.yaml"))


@pytest.mark.parametrize("sample", CONTROL_SAMPLES)
@given(data=st.data())
def test_mutated_control_sample_loads_or_fails_cleanly(sample: str, data: st.DataObject) -> None:
    # These controls use YAML 1.1 booleans (no, yes) and a repeated key.
    files = dict(FILES)
    files["controls/fz-01.yaml"] = data.draw(mutated((DATA / "controls" / sample).read_bytes()),
                                             label=sample)
    load(files)
