"""Load a workspace: assay.yaml, every control and every waiver, with every problem reported at once."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError

from assay.catalog.scaffold import library_params
from assay.config import CONFIG_FILE, WorkspaceConfig
from assay.controls.assertion_types import param_types, type_problems
from assay.controls.model import Control
from assay.controls.waivers import WAIVERS_DIR, LoadedWaiver, Waiver
from assay.controls.yamlsource import Document, Loc, Problem, load_document
from assay.errors import ConfigError, VerificationUnavailable, WorkspaceErrors
from assay.evidence import collectors
from assay.evidence.collectors.base import Collector
from assay.evidence.records import canonical
from assay.keys import fingerprint, load_public_key
from assay.policies.cel import CompiledExpression, ExpressionError, compile_expression

CONTROLS_DIR = "controls"
POLICIES_DIR = "policies"


@dataclass
class LoadedControl:
    """A validated control with its compiled assertions and collector parameters."""

    control: Control
    source: str
    expressions: list[CompiledExpression]
    params: dict[str, BaseModel]
    line_of: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """Return the control as recorded in the ledger.

        Each evidence source's `with` block is the collector's own dump of its
        parameters, so a collector that marks values as secret (the command
        collector's passwords and tokens) keeps them out of the ledger.
        """
        definition = self.control.definition()
        for index, spec in enumerate(self.control.evidence):
            params = self.params.get(spec.id)
            if params is not None:
                definition["evidence"][index]["with"] = params.model_dump(mode="json", by_alias=True)
        return definition

    @property
    def definition_sha256(self) -> str:
        return hashlib.sha256(canonical(self.definition())).hexdigest()


@dataclass(frozen=True)
class LoadedPerson:
    """A person from `people` in assay.yaml, with the public key read from its file."""

    name: str
    public_key: Ed25519PublicKey
    roles: tuple[str, ...]

    @property
    def key_id(self) -> str:
        return fingerprint(self.public_key)


@dataclass
class Workspace:
    """A loaded workspace."""

    root: Path
    config: WorkspaceConfig
    controls: list[LoadedControl]
    waivers: list[LoadedWaiver] = field(default_factory=list)
    people: dict[str, LoadedPerson] = field(default_factory=dict)

    @property
    def params_sha256(self) -> str:
        return hashlib.sha256(canonical(self.config.params)).hexdigest()


def _validate(document: Document, model: type[BaseModel]) -> Any:
    if document.data is None and not document.problems:
        document.add((), "file is empty")
        return None
    if document.problems:
        return None
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc: Loc = tuple(error["loc"])
            document.add(
                loc, error_message(error, model), at_key=error["type"] == "extra_forbidden"
            )
        return None


def error_message(error: Any, model: type[BaseModel]) -> str:
    """Word a pydantic error, raised while validating `model`, for a YAML author."""
    if error["type"] == "string_type" and isinstance(error.get("input"), (int, float, bool)):
        return (
            f"expected text, got {error['input']!r}; quote the value to keep it as written "
            "(YAML reads an unquoted 1.10 as the number 1.1)"
        )
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "extra_forbidden":
        return f"unknown field{_suggest_field(model, tuple(error['loc']))}"
    if error["type"] == "model_type":
        return f"expected a mapping of fields, got {_yaml_kind(error.get('input'))}"
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        # The validator's own message, without pydantic's "Value error, " prefix.
        return str(error["ctx"]["error"])
    return str(error["msg"])


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def _suggest_field(model: type[BaseModel], loc: Loc) -> str:
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    if len(loc) == 1 and isinstance(loc[0], str):
        return collectors.suggest(loc[0], names)
    return ""


def _load_config(root: Path) -> tuple[WorkspaceConfig | None, dict[str, LoadedPerson], list[str]]:
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: not found; is {root} an assay workspace?")
    config_doc = load_document(config_path, CONFIG_FILE, WorkspaceConfig)
    config = _validate(config_doc, WorkspaceConfig)
    if config is not None:
        _check_param_kinds(config, config_doc)
    people = _load_people(root, config, config_doc) if config is not None else {}
    return config, people, [config_doc.format(p) for p in config_doc.problems]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null" if value is None else type(value).__name__


def _check_param_kinds(config: WorkspaceConfig, document: Document) -> None:
    """Report a library param set to another kind of value than its default (`lots` for a number).

    The library's assertions compare these params with facts, so a string
    where a number belongs would only show at run time as an evaluation error.
    """
    defaults = _library_params(config.framework)
    for name, value in config.params.items():
        if name in defaults and _kind(value) != _kind(defaults[name]):
            document.add(
                ("params", name),
                f"expected {_kind(defaults[name])}, as the library's controls read it (default "
                f"{defaults[name]!r}), not {value!r}",
            )


@functools.cache
def _library_params(framework: str) -> dict[str, Any]:
    return library_params(framework)


def _load_people(root: Path, config: WorkspaceConfig, document: Document) -> dict[str, LoadedPerson]:
    """Read each person's public key; an unreadable or non-Ed25519 key is a problem at its field."""
    people: dict[str, LoadedPerson] = {}
    for name, person in config.people.items():
        loc: Loc = ("people", name, "public_key")
        path = root / person.public_key
        try:
            pem = path.read_bytes()
        except OSError as exc:
            document.add(loc, f"cannot read public key {person.public_key}: {exc.strerror}")
            continue
        try:
            key = load_public_key(pem, person.public_key)
        except VerificationUnavailable as exc:
            document.add(loc, f"{exc}; give the PEM public key of an Ed25519 key pair")
            continue
        people[name] = LoadedPerson(name=name, public_key=key, roles=tuple(person.roles))
    return people


def load_config(root: Path) -> WorkspaceConfig:
    """Load only assay.yaml, for commands that need no controls (the ledger commands)."""
    config, _people, problems = _load_config(root.resolve())
    if problems or config is None:
        raise WorkspaceErrors(problems)
    return config


def load_workspace(root: Path) -> Workspace:
    """Load and check a workspace; raise WorkspaceErrors listing every problem found."""
    root = root.resolve()
    config, people, problems = _load_config(root)

    policy_ids = _load_policy_ids(root, problems)
    loaded: list[LoadedControl] = []
    seen: dict[str, str] = {}
    control_files = sorted((root / CONTROLS_DIR).glob("*.yaml")) + sorted(
        (root / CONTROLS_DIR).glob("*.yml")
    )
    if not control_files:
        problems.append(f"{CONTROLS_DIR}/: no control files (*.yaml) found")
    for path in control_files:
        display = path.relative_to(root).as_posix()
        document = load_document(path, display, Control)
        control = _validate(document, Control)
        result = None
        if control is not None:
            result = _check_control(control, document, config)
            _check_references(control, document, policy_ids)
            if control.id in seen:
                document.add(("id",), f"duplicate control id {control.id!r}, also in {seen[control.id]}")
            seen.setdefault(control.id, display)
        problems.extend(document.format(p) for p in document.problems)
        if result is not None and not document.problems:
            loaded.append(result)
    waivers = _load_waivers(root, seen, problems)
    if problems or config is None:
        raise WorkspaceErrors(problems)
    loaded.sort(key=lambda item: item.control.id)
    return Workspace(root=root, config=config, controls=loaded, waivers=waivers, people=people)


def _load_policy_ids(root: Path, problems: list[str]) -> set[str]:
    """Check every policy document's front matter; return the ids controls may cite.

    A policy's id is its file name without `.md`, and its `policy_id` when set.
    """
    from datetime import UTC, datetime

    from assay.errors import CollectorError
    from assay.evidence.collectors.policy_documents import read_front_matter

    ids: set[str] = set()
    for path in sorted((root / POLICIES_DIR).glob("*.md")):
        display = path.relative_to(root).as_posix()
        ids.add(path.stem)
        try:
            matter = read_front_matter(path, display, datetime.now(UTC))
        except CollectorError as exc:
            problems.append(str(exc))
            continue
        if matter.policy_id:
            ids.add(matter.policy_id)
    return ids


def _check_references(control: Control, document: Document, policy_ids: set[str]) -> None:
    """Report criteria ids missing from the SOC 2 catalog and cited policies that do not exist."""
    from assay.catalog.criteria import criterion_ids, is_known

    for index, criterion in enumerate(control.criteria):
        if not is_known(criterion):
            hint = collectors.suggest(criterion, criterion_ids())
            document.add(("criteria", index), f"{criterion!r} is not a SOC 2 criterion{hint}")
    for index, policy in enumerate(control.policies):
        if policy not in policy_ids:
            hint = collectors.suggest(policy, sorted(policy_ids))
            known = f"; policies: {', '.join(sorted(policy_ids))}" if policy_ids and not hint else ""
            document.add(
                ("policies", index),
                f"cites policy {policy!r}, which is not in {POLICIES_DIR}/{hint}{known}",
            )


def _load_waivers(root: Path, control_files: dict[str, str], problems: list[str]) -> list[LoadedWaiver]:
    """Load every waiver file; `control_files` maps each control id found to its file."""
    waivers: list[LoadedWaiver] = []
    folder = root / WAIVERS_DIR
    paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    for path in paths:
        display = path.relative_to(root).as_posix()
        document = load_document(path, display, Waiver)
        waiver = _validate(document, Waiver)
        if waiver is not None and waiver.control not in control_files:
            hint = collectors.suggest(waiver.control, sorted(control_files))
            document.add(
                ("control",),
                f"waiver {display} names control {waiver.control}, which does not exist{hint}",
            )
        problems.extend(document.format(p) for p in document.problems)
        if waiver is not None and not document.problems:
            waivers.append(LoadedWaiver(waiver=waiver, source=display))
    return waivers


def _undeclared_fact(collector: type[Collector], path: tuple[str, ...]) -> str | None:
    """Explain why `path` reads no fact `collector` declares, or return None.

    Paths below a `map` fact are data and are not checked. Collectors whose
    facts the control chooses declare `dynamic_facts` and are not checked.
    """
    if collector.dynamic_facts:
        return None
    fact = collector.declared(path[1])
    if fact is None:
        names = [f.name for f in collector.facts if "*" not in f.name]
        hint = collectors.suggest(path[1], names)
        return f"{'.'.join(path[:2])!r}: {collector.name} produces no fact {path[1]!r}{hint}"
    if len(path) > 2 and fact.type != "map":
        return f"{'.'.join(path)!r}: fact {path[1]!r} of {collector.name} is a {fact.type}, not a map"
    return None


def _check_control(
    control: Control, document: Document, config: WorkspaceConfig | None
) -> LoadedControl | None:
    params: dict[str, BaseModel] = {}
    evidence_ids: list[str] = []
    collector_of: dict[str, type[Collector]] = {}
    for index, spec in enumerate(control.evidence):
        if spec.id in evidence_ids:
            document.add(("evidence", index, "id"), f"duplicate evidence id {spec.id!r}")
        evidence_ids.append(spec.id)
        if spec.id == "params":
            document.add(("evidence", index, "id"), "'params' is reserved for the workspace params")
        registry = collectors.available()
        if spec.collector not in registry:
            document.add(
                ("evidence", index, "collector"),
                f"unknown collector {spec.collector!r}{collectors.suggest(spec.collector, registry)}",
            )
            continue
        collector = registry[spec.collector]
        collector_of[spec.id] = collector
        try:
            params[spec.id] = collector.Params.model_validate(spec.with_)
        except ValidationError as exc:
            for error in exc.errors():
                loc = ("evidence", index, "with", *error["loc"])
                document.add(
                    loc,
                    error_message(error, collector.Params),
                    at_key=error["type"] == "extra_forbidden",
                )
    expressions: list[CompiledExpression] = []
    known = set(evidence_ids) | {"params"}
    declared_params = (
        param_types(config.params, _library_params(config.framework)) if config is not None else {}
    )
    for index, assertion in enumerate(control.assert_):
        loc: Loc = ("assert", index, "expr")
        try:
            compiled = compile_expression(assertion.expr)
        except ExpressionError as exc:
            document.add(loc, f"{exc} (at character {exc.offset + 1} of the expression)")
            continue
        for reference in compiled.references:
            root_name = reference.path[0]
            if root_name not in known:
                hint = collectors.suggest(root_name, sorted(known))
                document.add(
                    loc,
                    f"{reference.text!r} names no evidence id of this control{hint}; "
                    f"declared: {', '.join(sorted(evidence_ids)) or 'none'}",
                )
            elif root_name == "params" and config is not None and len(reference.path) > 1:
                if reference.path[1] not in config.params:
                    hint = collectors.suggest(reference.path[1], config.params)
                    document.add(loc, f"unknown param {reference.path[1]!r} in assay.yaml{hint}")
            elif root_name in collector_of and len(reference.path) > 1:
                problem = _undeclared_fact(collector_of[root_name], reference.path)
                if problem:
                    document.add(loc, problem)
        for problem in type_problems(assertion.expr, collector_of, declared_params):
            document.add(loc, problem)
        expressions.append(compiled)
    if control.manual is not None:
        _check_manual(control, document)
    elif control.not_applicable is None and not control.evidence:
        document.add(("evidence",), "a control needs evidence, or not_applicable with a justification")
    if control.manual is None and control.evidence and not control.assert_:
        document.add(("assert",), "a control with evidence needs at least one assertion")
    if document.problems:
        return None
    return LoadedControl(
        control=control, source=document.display, expressions=expressions, params=params,
        line_of=dict(document.positions),
    )


def _check_manual(control: Control, document: Document) -> None:
    """Reject fields that contradict `manual`: a manual control is judged by attestations alone."""
    if control.evidence:
        document.add(
            ("evidence",),
            "a manual control takes no evidence; remove the evidence or the manual block",
            at_key=True,
        )
    if control.assert_:
        document.add(
            ("assert",),
            "a manual control takes no assertions; remove the assertions or the manual block",
            at_key=True,
        )
    if control.max_age is not None:
        document.add(
            ("max_age",),
            "max_age applies to collected evidence; a manual control's attestations expire "
            "after manual.attestation_every",
            at_key=True,
        )
    if control.not_applicable is not None:
        document.add(
            ("not_applicable",),
            "a control cannot be both manual and not applicable; remove one of them",
            at_key=True,
        )


__all__ = ["LoadedControl", "LoadedPerson", "Problem", "Workspace", "load_workspace"]
