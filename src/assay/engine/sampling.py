"""Populations of a control over a period, and reproducible samples drawn from them.

A population lists every item of one kind behind a control's results in a
period, each with a stable id:

* `runs`: one item per period run with a result for the control; the id is
  the run id.
* `evidence`: one item per evidence record behind those results; the id is
  "<run>/<control>/<evidence id>".
* `events`: one item per distinct event inside those evidence records'
  facts, read from the fact lists named in EVENT_LISTS; the id is the
  SHA-256 (hex) of the event's canonical JSON (RFC 8785). The same event
  collected by several runs is one item, attributed to its first run.

The period's runs are chosen as `assay pack --period` chooses them (see
assay.engine.periods), from the ledger or from a period pack's records.jsonl.

The sample of size N under the seed S is the N items with the smallest
SHA-256(S || 0x00 || id), where S and id are encoded as UTF-8 and || is byte
concatenation. Ties, which need a SHA-256 collision, are broken by id. A size
larger than the population selects the whole population.

A sample file is JSON signed with Ed25519 over SAMPLE_SIGNATURE_DOMAIN
followed by the canonical JSON of the file without its `signature` member.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.engine.periods import ControlPeriod, Period, PeriodSummary, summarise_period
from assay.errors import AssayError, UsageError, VerificationError, VerificationUnavailable
from assay.evidence.records import StoredRecord, canonical, sha256_hex
from assay.keys import SigningKey, fingerprint, load_public_key, public_pem, signature_valid
from assay.timeutil import format_instant, parse_instant

POPULATION_KINDS = ("runs", "evidence", "events")
# Fact paths that contain lists of events: a fact `runs` that is a list
# (pgbackrest.log), and the `events` list of any fact that is an object
# (cloudtrail's {count, events, truncated} facts).
EVENT_LISTS = ("runs", "*.events")
SAMPLE_FORMAT = "assay-sample"
SAMPLE_VERSION = 1
SAMPLE_SIGNATURE_DOMAIN = b"assay-sample-v1\x00"
RANK_DEFINITION = "SHA-256(UTF-8 seed || 0x00 || UTF-8 id), smallest first; ties by id"
PACK_MANIFEST = "manifest.json"
PACK_RECORDS = "records.jsonl"


@dataclass
class PopulationItem:
    """One member of a population; `detail` depends on the population kind."""

    id: str
    run: str
    time: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Population:
    """Every item of kind `of` behind one control's results over a period, sorted by id."""

    control: str
    of: str
    scope: str
    start: str
    end: str
    items: list[PopulationItem]

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control, "of": self.of, "scope": self.scope,
            "period": {"start": self.start, "end": self.end},
            "count": len(self.items), "items": [asdict(item) for item in self.items],
        }


class PackRecords:
    """The records.jsonl of a pack, read as summarise_period reads a ledger."""

    def __init__(self, pack: Path) -> None:
        path = pack / PACK_RECORDS
        if not path.is_file():
            raise UsageError(f"{path}: missing; --pack must name a period pack folder")
        self.stored: list[StoredRecord] = []
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    item = json.loads(line)
                    body = None if item["body"] is None else canonical(item["body"])
                    self.stored.append(StoredRecord(
                        seq=int(item["header"]["seq"]), header=canonical(item["header"]),
                        body=body, hash=str(item["hash"]),
                    ))
                except (ValueError, KeyError, TypeError) as exc:
                    raise AssayError(f"{path}:{number}: not a record line ({exc})") from exc

    def records(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[StoredRecord]:
        for record in self.stored:
            if record.seq >= from_seq and (to_seq is None or record.seq <= to_seq):
                yield record

    def records_of_kind(self, kind: str) -> list[StoredRecord]:
        return [record for record in self.stored if record.header_fields().get("kind") == kind]


@dataclass(frozen=True)
class PackSource:
    """A period pack: its folder, scope, period and the SHA-256 of its manifest.json."""

    folder: Path
    scope: str
    period: Period
    manifest_sha256: str


def open_pack(folder: Path) -> PackSource:
    """Read a period pack's manifest.json; raise UsageError when `folder` is not a period pack.

    NOTE: this reads the pack without checking its signatures. `verify_sample`
    runs `verify_pack` first.
    """
    path = folder / PACK_MANIFEST
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the pack manifest: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != "period":
        raise UsageError(f"{folder}: not a period pack (manifest kind is not \"period\"); "
                         "build one with `assay pack --period`")
    bounds = manifest.get("period") or {}
    try:
        period = Period(parse_instant(str(bounds["start"])), parse_instant(str(bounds["end"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: the period is missing or invalid ({exc})") from exc
    return PackSource(folder, str(manifest.get("scope")), period, hashlib.sha256(data).hexdigest())


def check_within(period: Period, pack: PackSource) -> None:
    """Raise UsageError unless `period` lies inside the pack's period.

    Records of runs outside the pack's period are withheld, so a population
    over a longer period would silently miss them.
    """
    if period.start < pack.period.start or period.end > pack.period.end:
        raise UsageError(
            f"--period {format_instant(period.start)}..{format_instant(period.end)} is not inside "
            f"the pack's period {format_instant(pack.period.start)}..{format_instant(pack.period.end)}"
        )


def summary_from_pack(pack: PackSource, period: Period) -> PeriodSummary:
    """Summarise `period` from the pack's records.jsonl, as `assay pack` summarised the ledger."""
    check_within(period, pack)
    return summarise_period(PackRecords(pack.folder), period, pack.scope)  # type: ignore[arg-type]


def build_population(summary: PeriodSummary, control: str, of: str) -> Population:
    """Collect the population of kind `of` for `control` from a period summary.

    Raises UsageError for an unknown kind or a control without results in the
    period, and AssayError when an event list was truncated by its collector,
    because the population would then be incomplete.
    """
    if of not in POPULATION_KINDS:
        raise UsageError(f"--of {of!r}: expected one of {', '.join(POPULATION_KINDS)}")
    found = [item for item in summary.controls if item.control == control]
    if not found:
        known = ", ".join(item.control for item in summary.controls) or "none"
        raise UsageError(
            f"control {control!r} has no result in {summary.start}..{summary.end} "
            f"(scope {summary.scope}); controls with results: {known}"
        )
    items = _items(found[0], of)
    items.sort(key=lambda item: item.id)
    return Population(control, of, summary.scope, summary.start, summary.end, items)


def _items(control: ControlPeriod, of: str) -> list[PopulationItem]:
    items: list[PopulationItem] = []
    seen: set[str] = set()
    for run in control.runs:
        if of == "runs":
            items.append(PopulationItem(run.run, run.run, run.time, {"status": run.status}))
            continue
        for use in run.evidence:
            if of == "evidence":
                items.append(PopulationItem(
                    f"{run.run}/{control.control}/{use.evidence}", run.run, run.time,
                    {"collector": use.collector, "status": use.status, "observed_at": use.observed_at,
                     "artifacts": [artifact["sha256"] for artifact in use.artifacts]},
                ))
                continue
            for path, event in _events(use.facts or {}, f"{run.run}/{control.control}/{use.evidence}"):
                event_id = sha256_hex(canonical(event))
                if event_id in seen:
                    continue
                seen.add(event_id)
                items.append(PopulationItem(event_id, run.run, run.time, {
                    "evidence": use.evidence, "collector": use.collector, "fact": path, "event": event,
                }))
    return items


def _events(facts: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    for name in sorted(facts):
        value = facts[name]
        if name == "runs" and isinstance(value, list):
            for event in value:
                yield name, event
        elif isinstance(value, dict) and isinstance(value.get("events"), list):
            if value.get("truncated"):
                raise AssayError(
                    f"{where}: fact {name}.events lists only part of its events (truncated), so the "
                    "population would be incomplete; raise the collector's max_listed_events and run again"
                )
            for event in value["events"]:
                yield f"{name}.events", event


def rank(seed: str, item_id: str) -> str:
    """Return the hex SHA-256 of UTF-8 seed, one 0x00 byte, UTF-8 item id."""
    return hashlib.sha256(seed.encode("utf-8") + b"\x00" + item_id.encode("utf-8")).hexdigest()


def check_seed(seed: str) -> None:
    """Raise UsageError for an empty seed or one containing U+0000, the separator of `rank`."""
    if not seed:
        raise UsageError("--seed: empty; use a value the auditor chose, such as a phrase or a number")
    if "\x00" in seed:
        raise UsageError("--seed: contains a NUL character, which separates the seed from the id")


def select(ids: list[str], seed: str, size: int) -> list[tuple[str, str]]:
    """Return (id, rank) of the `size` ids with the smallest rank, smallest first."""
    if size < 1:
        raise UsageError(f"--size {size}: expected a positive number of items")
    check_seed(seed)
    ranked = sorted((rank(seed, item_id), item_id) for item_id in ids)
    return [(item_id, digest) for digest, item_id in ranked[:size]]


def sample_document(
    population: Population, seed: str, size: int, pack_manifest_sha256: str | None
) -> dict[str, Any]:
    """Build the unsigned sample file of `population`: its ids, the selection and how it was drawn."""
    by_id = {item.id: item for item in population.items}
    selection = []
    for item_id, digest in select(population.ids, seed, size):
        item = by_id[item_id]
        selection.append({"id": item_id, "rank": digest, "run": item.run, "time": item.time})
    return {
        "format": SAMPLE_FORMAT,
        "format_version": SAMPLE_VERSION,
        "control": population.control,
        "of": population.of,
        "scope": population.scope,
        "period": {"start": population.start, "end": population.end},
        "pack_manifest_sha256": pack_manifest_sha256,
        "seed": seed,
        "size": size,
        "rank": RANK_DEFINITION,
        "population": {"count": len(population.items), "ids": population.ids},
        "selection": selection,
    }


def _signed_bytes(document: dict[str, Any]) -> bytes:
    unsigned = {name: value for name, value in document.items() if name != "signature"}
    return SAMPLE_SIGNATURE_DOMAIN + canonical(unsigned)


def sign_sample(document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """Return `document` with its signer's key and an Ed25519 signature over its signed bytes."""
    signed = {**document, "signer": {"key_id": key.key_id, "public_key": public_pem(key.public).decode()}}
    signed["signature"] = base64.b64encode(key.sign(_signed_bytes(signed))).decode("ascii")
    return signed


def sample_json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_sample(path: Path) -> dict[str, Any]:
    """Parse a sample file; raise VerificationUnavailable when it is unreadable or of another format."""
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise VerificationUnavailable(f"{path}: cannot read the sample file: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != SAMPLE_FORMAT:
        raise VerificationUnavailable(f"{path}: not an assay sample file")
    if document.get("format_version") != SAMPLE_VERSION:
        raise VerificationUnavailable(
            f"{path}: sample format version {document.get('format_version')!r} is not supported "
            f"(this assay reads version {SAMPLE_VERSION})"
        )
    return document


def check_sample_signature(
    document: dict[str, Any], path: Path, expected: dict[str, Ed25519PublicKey | None]
) -> str:
    """Check the sample's signature and that its signer is one of `expected` (fingerprint -> key).

    Returns the signer's fingerprint; raises VerificationError otherwise.
    """
    signer = document.get("signer") or {}
    try:
        public = load_public_key(str(signer.get("public_key", "")).encode(), f"{path}: signer.public_key")
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (VerificationUnavailable, ValueError) as exc:
        raise VerificationError(f"{path}: the signer's key or the signature is malformed ({exc})") from exc
    key_id = fingerprint(public)
    if key_id not in expected:
        raise VerificationError(
            f"{path}: signed by {key_id}, not by the pinned signer; if someone other than the "
            "pack's signer drew the sample, check it with `assay verify-sample PACK SAMPLE --key "
            "SIGNER.pem --sample-key SAMPLER.pub.pem`"
        )
    pinned = expected[key_id]
    if pinned is not None:
        public = pinned
    if not signature_valid(public, signature, _signed_bytes(document)):
        raise VerificationError(f"{path}: the signature does not verify; the file was altered")
    return key_id


def _check_sample_shape(document: dict[str, Any], path: Path) -> None:
    # A signed file can still be malformed when another program wrote it, so
    # the parts read below are checked before any is used.
    period = document.get("period")
    population = document.get("population")
    selection = document.get("selection")
    problems = []
    if period is not None and not isinstance(period, dict):
        problems.append("period must be an object with start and end")
    if not isinstance(population, dict) or not _strings(population.get("ids")):
        problems.append("population.ids must be a list of strings")
    if not isinstance(selection, list) or not all(isinstance(item, dict) for item in selection):
        problems.append("selection must be a list of objects")
    if problems:
        raise VerificationError(f"{path}: not a valid sample file: {'; '.join(problems)}")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def check_sample_contents(document: dict[str, Any], path: Path, pack: PackSource) -> list[str]:
    """Recompute the sample's population from the pack and its selection from the seed.

    Returns the checks passed; raises VerificationError at the first difference.
    """
    if document.get("pack_manifest_sha256") != pack.manifest_sha256:
        raise VerificationError(
            f"{path}: drawn from a pack whose manifest.json SHA-256 is "
            f"{document.get('pack_manifest_sha256')}, not this pack's {pack.manifest_sha256}"
        )
    checks = [f"{path.name} names this pack's manifest.json ({pack.manifest_sha256[:16]}...)"]
    _check_sample_shape(document, path)
    bounds = document.get("period") or {}
    try:
        period = Period(parse_instant(str(bounds.get("start"))), parse_instant(str(bounds.get("end"))))
    except ValueError as exc:
        raise VerificationError(f"{path}: period is invalid ({exc})") from exc
    try:
        population = build_population(
            summary_from_pack(pack, period), str(document.get("control")), str(document.get("of"))
        )
    except UsageError as exc:
        raise VerificationError(f"{path}: its population cannot be recomputed from the pack: {exc}") from exc
    recorded = list((document.get("population") or {}).get("ids") or [])
    if recorded != population.ids:
        missing = sorted(set(population.ids) - set(recorded))
        extra = sorted(set(recorded) - set(population.ids))
        raise VerificationError(
            f"{path}: the population differs from the pack's: missing from the file: {len(missing)} "
            f"{missing[:3]}, not in the pack: {len(extra)} {extra[:3]}"
            + ("" if missing or extra else ", and the order or duplicates differ")
        )
    checks.append(f"population of {len(recorded)} {population.of} matches the pack")
    seed, size = document.get("seed"), document.get("size")
    if not isinstance(seed, str) or not isinstance(size, int) or isinstance(size, bool):
        raise VerificationError(f"{path}: seed must be a string and size an integer")
    try:
        expected = select(population.ids, seed, size)
    except UsageError as exc:
        raise VerificationError(f"{path}: {exc}") from exc
    chosen = [(str(item.get("id")), str(item.get("rank"))) for item in document.get("selection") or []]
    if chosen != expected:
        raise VerificationError(
            f"{path}: the selection is not the {len(expected)} items that the seed selects"
        )
    checks.append(f"selection of {len(chosen)} items is the one the seed selects")
    return checks
