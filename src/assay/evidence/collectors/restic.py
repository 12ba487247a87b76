"""Placeholder until the collectors are written."""

from assay.evidence.collectors.base import Collector


class ResticSnapshots(Collector):  # pragma: no cover - replaced by the real collector
    name = "placeholder"
    summary = "placeholder"
    facts = ()

    def collect(self, params, context):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class ResticCheck(ResticSnapshots):  # pragma: no cover - replaced by the real collector
    pass
