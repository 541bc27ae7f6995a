"""Turn wrk runs into table cells, check the quality bars, and write Markdown and JSON."""

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.wrk import WrkResult

# workload -> (least throughput as a share of bare WSGI's, most p99 ms) at 1M listings
TARGETS = {"nearest": (0.25, 30.0), "sms": (0.25, 30.0), "services": (0.15, 50.0)}
# Each workload and its peer, the textbook DRF implementation of the same request (bench/peer.py).
PEERS = {"nearest": "peer_nearest", "services": "peer_services", "sms": "peer_sms"}
MAX_P50_GROWTH = 1.5
MAX_RSS_MB = 300.0
TARGET_SIZE = 1_000_000
BASELINE_SIZE = 10_000
# Fewer completed requests than this in a run make its p99 little more than its slowest request.
FEW_REQUESTS = 100
# Runs of one cell whose throughput spreads wider than this share of their median are noted: the machine's
# own speed moved during the size, and ratios to the bare app in the same run are what still compare.
NOTED_SPREAD = 0.2


@dataclass(frozen=True)
class Cell:
    size: str
    services: int
    workload: str
    requests_per_second: float
    requests: int
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    rss_mb: float
    vs_wsgi: float | None
    vs_django: float | None
    runs: int
    statuses: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    target: str
    passed: bool
    measured: str


def summarize(
    size: str, services: int, runs: Mapping[str, Sequence[WrkResult]], rss: Mapping[str, float]
) -> list[Cell]:
    """Make one cell per workload: medians of throughput and latency, summed errors, peak worker RSS.

    wrk reports no latency for a run in which no request completed (requests still in flight when
    the run ends are not counted anywhere), so such runs are left out of the latency medians and noted.
    """
    medians = {name: statistics.median(r.requests_per_second for r in results) for name, results in runs.items()}
    cells = []
    for name, results in runs.items():
        statuses: dict[str, int] = {}
        for result in results:
            for status, count in result.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        timed = [result for result in results if result.requests]
        cells.append(
            Cell(
                size=size,
                services=services,
                workload=name,
                requests_per_second=round(medians[name], 1),
                requests=sum(result.requests for result in results),
                p50_ms=round(statistics.median(r.p50_ms for r in timed), 2) if timed else None,
                p99_ms=round(statistics.median(r.p99_ms for r in timed), 2) if timed else None,
                errors=sum(result.errors for result in results),
                rss_mb=round(rss.get(name, 0.0), 1),
                vs_wsgi=_ratio(medians[name], medians.get("hello")),
                vs_django=_ratio(medians[name], medians.get("healthz")),
                runs=len(results),
                statuses=statuses,
                notes=_notes(name, results),
            )
        )
    return cells


def _notes(name: str, results: Sequence[WrkResult]) -> tuple[str, ...]:
    notes = []
    idle = sum(1 for result in results if not result.requests)
    if idle:
        notes.append(f"{idle} of {len(results)} runs completed no request: no response arrived before the run ended")
    elif any(result.requests < FEW_REQUESTS for result in results):
        notes.append(f"under {FEW_REQUESTS} requests in a run: p99 is little more than the slowest request")
    rates = [result.requests_per_second for result in results]
    middle = statistics.median(rates) if rates else 0.0
    if len(rates) > 1 and middle and (max(rates) - min(rates)) / middle > NOTED_SPREAD:
        notes.append(
            f"req/s ranged {min(rates):,.0f}-{max(rates):,.0f} over the {len(rates)} runs "
            f"({(max(rates) - min(rates)) / middle:.0%} of the median): the machine's speed moved"
        )
    wraps = sum(result.wraps for result in results)
    if name in ("sms", "peer_sms") and wraps:
        notes.append(f"the request file ran out {wraps} times, so some MessageSids repeated")
    return tuple(notes)


def _ratio(value: float, reference: float | None) -> float | None:
    return round(value / reference, 5) if reference else None


def check_targets(cells: Sequence[Cell]) -> list[Check]:
    """Check the design's bars: at 1M listings (throughput, p99, growth, RSS, errors), at every size the peer."""
    checks = []
    by_key = {(cell.services, cell.workload): cell for cell in cells}
    for workload, peer in PEERS.items():
        for cell in cells:
            other = by_key.get((cell.services, peer))
            if cell.workload == workload and other is not None:
                checks.append(
                    Check(
                        f"{workload} at {cell.size}: at least as fast as its peer",
                        cell.requests_per_second >= other.requests_per_second,
                        f"{cell.requests_per_second:,.0f} vs {other.requests_per_second:,.0f} req/s",
                    )
                )
    for workload, (least_ratio, most_p99) in TARGETS.items():
        target = by_key.get((TARGET_SIZE, workload))
        if target is None:
            continue
        cell = target
        checks.append(
            Check(
                f"{workload} at 1M: >= {least_ratio}x bare WSGI throughput",
                (cell.vs_wsgi or 0) >= least_ratio,
                _format_ratio(cell.vs_wsgi),
            )
        )
        checks.append(
            Check(
                f"{workload} at 1M: p99 <= {most_p99:g} ms",
                cell.p99_ms is not None and cell.p99_ms <= most_p99,
                _format_ms(cell.p99_ms),
            )
        )
        baseline = by_key.get((BASELINE_SIZE, workload))
        if baseline is not None:
            growth = cell.p50_ms / baseline.p50_ms if cell.p50_ms is not None and baseline.p50_ms else None
            checks.append(
                Check(
                    f"{workload}: p50 at 1M <= {MAX_P50_GROWTH}x p50 at 10k",
                    growth is not None and growth <= MAX_P50_GROWTH,
                    f"{_format_ratio(growth)} ({_format_ms(baseline.p50_ms)} -> {_format_ms(cell.p50_ms)})",
                )
            )
        checks.append(
            Check(f"{workload} at 1M: worker RSS <= {MAX_RSS_MB:g} MB", cell.rss_mb <= MAX_RSS_MB, f"{cell.rss_mb} MB")
        )
        checks.append(
            Check(
                f"{workload} at 1M: 0 errors",
                cell.errors == 0 and cell.requests > 0,
                f"{cell.errors} errors in {cell.requests} requests",
            )
        )
    return checks


def _format_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


def _format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.4f}x"


def _format_errors(cell: Cell) -> str:
    if not cell.statuses:
        return str(cell.errors)
    detail = ", ".join(f"HTTP {status}: {count}" for status, count in sorted(cell.statuses.items()))
    return f"{cell.errors} ({detail})"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown_table(cells: Sequence[Cell]) -> str:
    header = (
        "| workload | req/s | requests | p50 ms | p99 ms | errors | max worker RSS MB | vs bare WSGI "
        "| vs Django /healthz/ |\n|---|---:|---:|---:|---:|---|---:|---:|---:|"
    )
    rows = [
        f"| {cell.workload} | {cell.requests_per_second:,.0f} | {cell.requests:,} | {_number(cell.p50_ms)} | "
        f"{_number(cell.p99_ms)} | {_format_errors(cell)} | {cell.rss_mb:.0f} | {_format_ratio(cell.vs_wsgi)} | "
        f"{_format_ratio(cell.vs_django)} |"
        for cell in cells
    ]
    notes = [f"- {cell.workload}: {note}" for cell in cells for note in cell.notes]
    return "\n".join([header, *rows, *(["", *notes] if notes else [])])


def markdown_checks(checks: Sequence[Check]) -> str:
    return "\n".join(f"- [{'x' if check.passed else ' '}] {check.target}: {check.measured}" for check in checks)


def write_results(
    directory: Path, stamp: str, context: Mapping[str, object], sections: Sequence[tuple[str, Sequence[Cell]]]
) -> tuple[Path, Path]:
    """Write ``<stamp>.md`` and ``<stamp>.json`` with every table and the target checks."""
    directory.mkdir(parents=True, exist_ok=True)
    cells = [cell for _, section in sections for cell in section]
    checks = check_targets(cells)
    lines = [f"# Benchmark {stamp}", "", *(f"- {key}: {value}" for key, value in context.items())]
    for title, section in sections:
        lines += ["", f"## {title}", "", markdown_table(section)]
    if checks:
        lines += ["", "## Targets", "", markdown_checks(checks)]
    markdown = directory / f"{stamp}.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = {"context": dict(context), "cells": [asdict(cell) for cell in cells], "targets": [asdict(c) for c in checks]}
    as_json = directory / f"{stamp}.json"
    as_json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return markdown, as_json
