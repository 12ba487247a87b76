"""Placeholder until the collector is written."""

from assay.evidence.collectors.base import Collector


class AuditJsonl(Collector):  # pragma: no cover - replaced by the real collector
    name = "placeholder"
    summary = "placeholder"
    facts = ()
    dynamic_facts = True

    def collect(self, params, context):  # type: ignore[no-untyped-def]
        raise NotImplementedError
