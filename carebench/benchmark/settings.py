"""The thresholds behind the figures, in one frozen value the dashboard can change."""

from __future__ import annotations

from dataclasses import dataclass, field

from carebench.benchmark.templates import TemplateSettings


@dataclass(frozen=True)
class Settings:
    """Every setting METRICS.md leaves to the user, with its documented default."""

    # Share answered within this many seconds (the SLA tile).
    sla_seconds: float = 3600.0
    # A customer opening another conversation with the brand within this many days.
    repeat_contact_days: float = 7.0
    # Care requests resolved in public within this many hours (the resolution promise).
    resolution_promise_hours: float = 48.0
    # Figures over fewer than this many cases are flagged as small samples.
    min_sample: int = 30
    templates: TemplateSettings = field(default_factory=TemplateSettings)
