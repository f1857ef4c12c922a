"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.hops = Counter(
            "sauti_hops", "Inbound hops handled", ["channel", "provider"], registry=self.registry
        )
        self.hop_seconds = Histogram(
            "sauti_hop_seconds",
            "Time to answer one hop",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reports = Counter(
            "sauti_reports", "Reports committed", ["channel"], registry=self.registry
        )
        self.errors = Counter(
            "sauti_errors",
            "Requests that failed inside the service",
            ["where"],
            registry=self.registry,
        )
        self.refused = Counter(
            "sauti_refused", "Requests refused at the edge", ["reason"], registry=self.registry
        )

        self.calls = Counter(
            "sauti_calls",
            "Voice calls whose status the provider reported",
            ["provider", "status"],
            registry=self.registry,
        )

        # The children the USSD hot path touches, bound once.
        self.ussd_hops = self.hops.labels(channel="ussd", provider="africastalking")
        self.ussd_seconds = self.hop_seconds.labels(channel="ussd")

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
