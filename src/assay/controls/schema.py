"""A JSON Schema (draft 2020-12) for control files, for editors and the YAML language server.

The schema is generated from the pydantic `Control` model, so field names
(`with`, `assert`), descriptions and patterns follow the model. Checks the
model makes in validators are added as patterns (criteria ids, durations).
Each registered collector's parameter model becomes the schema of `with` for
that collector, so an editor completes and checks collector parameters too.

The schema judges YAML as the YAML 1.2 core schema reads it. assay itself
keeps an unquoted value of a text field as written (`stanza: 1.10` is the
text "1.10"), which the schema reports as a number: quote such values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from assay.controls.model import CRITERION, Control

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The durations `duration_seconds` in assay.controls.model parses: 90s, 30m, 26h, 7d, 2w.
DURATION_PATTERN = r"^[0-9]+[smhdw]$"


def control_schema(collector_params: dict[str, type[BaseModel]]) -> dict[str, Any]:
    """Build the JSON Schema of a control file.

    `collector_params` maps each collector name to its parameter model; each
    becomes the schema of `with` when `collector` names it. A collector not
    in the map gets `with` as any mapping.
    """
    schema = Control.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    properties = schema["properties"]
    properties["criteria"]["items"]["pattern"] = CRITERION
    _string_option(properties["max_age"])["pattern"] = DURATION_PATTERN
    manual = defs.get("Manual")
    if manual is not None and "attestation_every" in manual.get("properties", {}):
        manual["properties"]["attestation_every"]["pattern"] = DURATION_PATTERN

    evidence = defs["EvidenceSpec"]
    evidence["properties"]["collector"]["examples"] = sorted(collector_params)
    branches = []
    for name, model in sorted(collector_params.items()):
        definition = f"with.{name}"
        defs[definition] = _embedded(
            model.model_json_schema(by_alias=True, mode="validation"), defs, prefix=f"{definition}."
        )
        branches.append(
            {
                "if": {"properties": {"collector": {"const": name}}, "required": ["collector"]},
                "then": {"properties": {"with": {"$ref": f"#/$defs/{definition}"}}},
            }
        )
    if branches:
        evidence["allOf"] = branches

    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "assay control",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _string_option(property_schema: dict[str, Any]) -> dict[str, Any]:
    """Return the `type: string` branch of an optional field's `anyOf`, or the field itself."""
    for option in property_schema.get("anyOf", []):
        if option.get("type") == "string":
            return option
    return property_schema


def _embedded(schema: dict[str, Any], defs: dict[str, Any], *, prefix: str) -> dict[str, Any]:
    """Move `schema`'s own `$defs` into `defs` under `prefix` and point its `$ref`s at them."""
    own = schema.pop("$defs", {})
    renamed = {name: prefix + name for name in own}
    for name, definition in own.items():
        defs[renamed[name]] = _rewrite_refs(definition, renamed)
    return _rewrite_refs(schema, renamed)


def _rewrite_refs(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, dict):
        rewritten = {key: _rewrite_refs(item, renamed) for key, item in value.items()}
        ref = rewritten.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            rewritten["$ref"] = f"#/$defs/{renamed.get(name, name)}"
        return rewritten
    if isinstance(value, list):
        return [_rewrite_refs(item, renamed) for item in value]
    return value


def registered_control_schema() -> dict[str, Any]:
    """Build the control schema with every collector registered in this environment."""
    from assay.evidence import collectors

    return control_schema({name: cls.Params for name, cls in collectors.available().items()})
