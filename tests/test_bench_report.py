"""The benchmark's report: what it says under a cell."""

from bench.report import summarize
from bench.wrk import WrkResult


def _run(requests_per_second: float) -> WrkResult:
    return WrkResult(
        requests=int(requests_per_second * 5), seconds=5.0, p50_ms=1.0, p99_ms=2.0, non_2xx=0, socket_errors=0, wraps=0
    )


def test_a_cell_whose_runs_spread_wide_says_the_machine_s_speed_moved():
    (steady,) = summarize("10k", 10_000, {"hello": [_run(9_000), _run(9_500), _run(10_000)]}, {})
    assert steady.notes == ()
    (moved,) = summarize("10k", 10_000, {"hello": [_run(7_600), _run(9_983), _run(10_920)]}, {})
    assert moved.notes == ("req/s ranged 7,600-10,920 over the 3 runs (33% of the median): the machine's speed moved",)


def test_a_single_run_has_no_spread_to_note():
    (only,) = summarize("10k", 10_000, {"hello": [_run(9_000)]}, {})
    assert only.notes == ()
