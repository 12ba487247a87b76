"""A collector that lives outside assay: reads {"uptime_ratio": N, "window_days": N}."""

from __future__ import annotations

import json

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    Fact,
    PathParams,
    read_input_bytes,
    resolve_single_input,
)


class UptimeJson(Collector):
    name = "uptime.json"
    version = "0.1.0"
    summary = "Read a monitoring export with the service's uptime ratio."
    Params = PathParams
    facts = (
        Fact(name="uptime_ratio", type="float", unit="ratio", description="Share of the window the service was up."),
        Fact(name="window_days", type="int", unit="days", description="Length of the measured window."),
    )

    def collect(self, params: PathParams, context: CollectContext) -> Collected:
        path = resolve_single_input(context.workspace, params.path)
        try:
            document = json.loads(read_input_bytes(path, params.path))
            facts = {"uptime_ratio": float(document["uptime_ratio"]), "window_days": int(document["window_days"])}
        except (ValueError, KeyError, TypeError) as exc:
            raise CollectorError(f"not an uptime export: {exc}", path=params.path) from exc
        return Collected(facts=facts, artifacts=[path])
