"""The load test's figures: latency percentiles and statuses per kind of call, the 5xx outside the declared fault
window, and the server's own figures scraped from /metrics (parsed with prometheus-client's parser, as Prometheus
reads them)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.load_staff import Sample


@dataclass
class KindFigures:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[int, int]  # 0: no answer (the connection was cut)


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(share * len(sorted_values)) - 1))]


def by_kind(samples: list[Sample]) -> dict[str, KindFigures]:
    """Count, p50/p95/p99 latency of the answered calls and the statuses, per kind of call."""
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        grouped[sample.kind].append(sample)
    figures = {}
    for kind, group in sorted(grouped.items()):
        seconds = sorted(s.seconds for s in group if s.status)
        figures[kind] = KindFigures(len(group), percentile(seconds, 0.50) * 1000, percentile(seconds, 0.95) * 1000,
                                    percentile(seconds, 0.99) * 1000, dict(sorted(Counter(s.status for s in group)
                                                                                  .items())))
    return figures


@dataclass(frozen=True)
class Window:
    """A stretch of the run (monotonic seconds) in which a fault was declared: from its start to ``end``, the
    declared recovery time after ``restored`` (when the fault was over: the database started again, say)."""

    start: float
    end: float
    restored: float

    def overlaps(self, sample: Sample) -> bool:
        return sample.sent <= self.end and sample.answered >= self.start


def server_errors_outside(samples: list[Sample], windows: list[Window]) -> list[Sample]:
    """The 5xx answers to calls that did not overlap any fault window."""
    return [s for s in samples if s.status >= 500 and not any(w.overlaps(s) for w in windows)]


@dataclass
class Scrape:
    """One scrape of /metrics: every sample by name and labels, or why it failed."""

    moment: str
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    error: str | None = None

    def total(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels``."""
        return sum(value for (sample, sample_labels), value in self.values.items()
                   if sample == name and set(labels.items()) <= set(sample_labels))


def scrape(base_url: str, token: str, moment: str) -> Scrape:
    """/metrics parsed with prometheus-client's parser (a parse error is an error of the exposition)."""
    found = Scrape(moment)
    try:
        answer = requests.get(base_url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if answer.status_code != 200:
            found.error = f"/metrics answered {answer.status_code}"
            return found
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                found.values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    except requests.RequestException as error:
        found.error = f"/metrics did not answer: {error}"
    return found


#: The figures shown moving from scrape to scrape: (label, sample name, labels).
SHOWN = (("commands ok", "huhua_commands_total", {"outcome": "ok"}),
         ("commands refused", "huhua_commands_total", {"outcome": "refused"}),
         ("commands conflict", "huhua_commands_total", {"outcome": "conflict"}),
         ("commands error", "huhua_commands_total", {"outcome": "error"}),
         ("CompleteTask ok", "huhua_commands_total", {"command": "CompleteTask", "outcome": "ok"}),
         ("StartInstance ok", "huhua_commands_total", {"command": "StartInstance", "outcome": "ok"}),
         ("HTTP requests", "huhua_http_requests_total", {}),
         ("HTTP 503", "huhua_http_requests_total", {"status": "503"}),
         ("inbox requests", "huhua_inbox_request_seconds_count", {}),
         ("database up", "huhua_database_up", {}),
         ("jobs due", "huhua_jobs_due", {}))
