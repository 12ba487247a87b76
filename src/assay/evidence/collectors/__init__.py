"""Collector registry: every collector is found through the entry-point group
`assay.collectors`, the built-in ones included, so a plug-in needs no change
to assay."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import entry_points

from assay.errors import ConfigError
from assay.evidence.collectors.base import Collector

ENTRY_POINT_GROUP = "assay.collectors"


@cache
def available() -> dict[str, type[Collector]]:
    """Load every registered collector class, keyed by its name."""
    found: dict[str, type[Collector]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Collector)):
            raise ConfigError(
                f"entry point {entry.name!r} in group {ENTRY_POINT_GROUP!r} "
                f"is {entry.value}, which is not an assay Collector subclass"
            )
        found[entry.name] = cls
    return dict(sorted(found.items()))


def names() -> list[str]:
    return list(available())


def get(name: str) -> type[Collector]:
    """Return the collector class registered as `name`, or raise with a suggestion."""
    registry = available()
    if name in registry:
        return registry[name]
    raise ConfigError(
        f"unknown collector {name!r}{suggest(name, registry)}; "
        "`assay collectors list` shows the installed ones"
    )


def suggest(value: str, choices: object) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or ""."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)  # type: ignore[call-overload]
    return f" (did you mean {close[0]!r}?)" if close else ""
