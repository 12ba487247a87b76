import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.prometheus import Prometheus, PrometheusParams

DATA = Path(__file__).resolve().parents[2] / "data"
RANGE_FILE = "prometheus/query_range-process_resident_memory_bytes-2h.json"
# The range query covers 2026-12-04 18:00 to 20:00 UTC at 60 s steps.
NOW = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
FLAT = ('process_resident_memory_bytes{instance="10.0.4.11:9100",job="tenant-api",'
        'pod="tenant-api-7c9f6d5b8-2kq7x",tenant="tenant-a"}')
LEAKING = ('process_resident_memory_bytes{instance="10.0.4.12:9100",job="tenant-api",'
           'pod="tenant-api-7c9f6d5b8-9mz4t",tenant="tenant-b"}')


def collect(workspace: Path = DATA, **params):
    context = CollectContext(workspace=workspace, now=NOW)
    return Prometheus().collect(PrometheusParams(**params), context)


def fixture_samples(pod: str) -> list[tuple[float, float]]:
    document = json.loads((DATA / RANGE_FILE).read_text(encoding="utf-8"))
    series = next(s for s in document["data"]["result"] if s["metric"]["pod"] == pod)
    return [(float(t), float(v)) for t, v in series["values"]]


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Ordinary least squares: sum((t - t̄)(v - v̄)) / sum((t - t̄)²), per second, times 3600."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    covariance = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    variance = sum((t - mean_t) ** 2 for t, _ in samples)
    return covariance / variance * 3600


# Range query from a saved file


def test_range_series_keys():
    facts = collect(path=RANGE_FILE).facts
    assert facts["series_count"] == 2
    assert sorted(facts["series"]) == [FLAT, LEAKING]


def test_range_flat_series_statistics():
    flat = collect(path=RANGE_FILE).facts["series"][FLAT]
    assert flat["min"] == 214546792.0
    assert flat["max"] == 229812790.0
    assert flat["first"] == 221996053.0
    assert flat["last"] == 217080739.0
    assert flat["samples"] == 118
    assert flat["missed_scrapes"] == 3
    assert flat["non_finite_samples"] == 0


def test_range_leaking_series_statistics():
    leaking = collect(path=RANGE_FILE).facts["series"][LEAKING]
    assert leaking["min"] == 239285518.0
    assert leaking["max"] == 935215722.0
    assert leaking["last"] == 935215722.0
    assert leaking["samples"] == 121
    assert leaking["missed_scrapes"] == 0
    assert leaking["growth_ratio"] == pytest.approx(935215722 / 239285518)


def test_range_slopes_least_squares():
    facts = collect(path=RANGE_FILE).facts
    flat = slope_per_hour(fixture_samples("tenant-api-7c9f6d5b8-2kq7x"))
    leaking = slope_per_hour(fixture_samples("tenant-api-7c9f6d5b8-9mz4t"))
    assert facts["series"][FLAT]["slope_per_hour"] == pytest.approx(flat, rel=1e-9)
    assert facts["series"][LEAKING]["slope_per_hour"] == pytest.approx(leaking, rel=1e-9)
    assert facts["max_slope_per_hour"] == pytest.approx(leaking, rel=1e-9)


def test_range_leaking_slope_in_bytes_per_hour():
    # The series grows from about 228 MiB to 892 MiB in two hours.
    slope = collect(path=RANGE_FILE).facts["max_slope_per_hour"]
    assert 300 * 2**20 < slope < 360 * 2**20


def test_range_totals():
    collected = collect(path=RANGE_FILE)
    assert collected.facts["missed_scrapes"] == 3
    assert collected.facts["max_value"] == 935215722.0
    assert collected.facts["min_value"] == 214546792.0
    assert collected.facts["non_finite_samples"] == 0
    assert collected.facts["step_seconds"] == 60
    assert collected.absent == {}


def test_range_observed_at_latest_sample():
    collected = collect(path=RANGE_FILE)
    assert collected.observed_at == datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert collected.artifacts == [(DATA / RANGE_FILE).resolve()]


def test_range_step_param_sets_grid():
    # The flat series has no samples at minutes 64, 65 and 66 of the range.
    # At a 120 s step the odd minutes are off the grid, so 64 and 66 are missed.
    facts = collect(path=RANGE_FILE, step="2m").facts
    assert facts["step_seconds"] == 120
    assert facts["series"][FLAT]["missed_scrapes"] == 2


def test_range_window_params_count_missing_edges():
    # Asking for 17:58 to 20:02 adds two grid points before and after the data.
    facts = collect(path=RANGE_FILE, start="2026-12-04T17:58:00Z", end="2026-12-04T20:02:00Z", step=60).facts
    assert facts["series"][LEAKING]["missed_scrapes"] == 4
    assert facts["series"][FLAT]["missed_scrapes"] == 7


def test_non_finite_samples_skipped():
    collected = collect(path="prometheus/query_range-non-finite.json")
    series = collected.facts["series"]['{job="api",quantile="0.99"}']
    assert series["samples"] == 2
    assert series["non_finite_samples"] == 3
    assert series["min"] == 0.5
    assert series["max"] == 1.5
    assert series["missed_scrapes"] == 0
    assert series["slope_per_hour"] == pytest.approx((1.5 - 0.5) / 180 * 3600)
    assert collected.facts["non_finite_samples"] == 3


def test_response_warnings_kept():
    collected = collect(path="prometheus/query_range-non-finite.json")
    assert collected.warnings == ["Prometheus: PromQL warning: quantile value should be between 0 and 1"]


# Instant queries


def test_vector_one_sample_per_series():
    collected = collect(path="prometheus/query-up-vector.json")
    facts = collected.facts
    assert facts["series_count"] == 2
    assert facts["series"]['up{instance="127.0.0.1:9100",job="node"}']["last"] == 0.0
    assert facts["min_value"] == 0.0
    assert facts["max_value"] == 1.0
    assert facts["missed_scrapes"] == 0
    assert facts["series"]['up{instance="127.0.0.1:9090",job="prometheus"}']["slope_per_hour"] is None
    assert "max_slope_per_hour" not in facts
    assert "range query" in collected.absent["max_slope_per_hour"]
    assert collected.observed_at == datetime(2026, 12, 4, 20, 0, 0, 123000, tzinfo=UTC)


def test_scalar_keyed_by_empty_labels():
    facts = collect(path="prometheus/query-scalar.json").facts
    assert facts["series_count"] == 1
    assert facts["series"]["{}"]["last"] == 0.25
    assert facts["max_value"] == 0.25


def test_error_response_quoted():
    with pytest.raises(CollectorError, match="errorType 'bad_data': invalid parameter \"query\""):
        collect(path="prometheus/query-error-bad-data.json")


def test_empty_result_has_no_values(tmp_path):
    (tmp_path / "empty.json").write_text('{"status":"success","data":{"resultType":"matrix","result":[]}}')
    collected = collect(tmp_path, path="empty.json")
    assert collected.facts["series_count"] == 0
    assert collected.absent["max_value"] == "the result has no series"
    assert collected.observed_at is None


@pytest.mark.parametrize(("body", "message"), [
    ('{"status":"success","data":{"resultType":"string","result":[1,"x"]}}', "resultType 'string'"),
    ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1,5"]}]}}',
     "expected a sample"),
    ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1.5]}]}}',
     "expected a sample"),
    ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e400,"1"]}]}}',
     "expected a sample"),
    ('{"data":{}}', "status is missing"),
    ('[]', "expected a JSON object"),
])
def test_malformed_response_rejected(tmp_path, body, message):
    (tmp_path / "bad.json").write_text(body)
    with pytest.raises(CollectorError, match=message):
        collect(tmp_path, path="bad.json")


def test_extreme_values_leave_slope_null(tmp_path):
    values = '[[1796407200,"1.7e308"],[1796407260,"1.7e308"],[1796407320,"-1.7e308"]]'
    result = '[{"metric":{},"values":' + values + '}]'
    body = '{"status":"success","data":{"resultType":"matrix","result":' + result + '}}'
    (tmp_path / "extreme.json").write_text(body)
    series = collect(tmp_path, path="extreme.json").facts["series"]["{}"]
    assert series["max"] == 1.7e308
    assert series["slope_per_hour"] is None
    assert series["growth_ratio"] == -1.0


def test_missing_file():
    with pytest.raises(EvidenceMissing):
        collect(path="prometheus/no-such-file.json")


# Parameters


@pytest.mark.parametrize(("params", "message"), [
    ({}, "exactly one of path"),
    ({"path": "a.json", "url": "http://127.0.0.1:9090", "query": "up"}, "exactly one of path"),
    ({"path": "a.json", "query": "up"}, "query is sent only to a server"),
    ({"url": "http://127.0.0.1:9090"}, "needs a query"),
    ({"url": "http://127.0.0.1:9090", "query": "up", "start": "now-2h"}, "needs step"),
    ({"url": "http://127.0.0.1:9090", "query": "up", "step": 60}, "give start"),
    ({"url": "ftp://127.0.0.1/", "query": "up"}, "http:// or https://"),
    ({"url": "http://user:secret@127.0.0.1:9090", "query": "up"}, "credentials"),
    ({"url": "http://127.0.0.1:9090/api/v1/query?query=up", "query": "up"}, "base address"),
    ({"path": "a.json", "start": "yesterday"}, "invalid time"),
    ({"path": "a.json", "start": "2026-12-04T18:00:00"}, "invalid time"),
    ({"path": "a.json", "step": "1 minute"}, "invalid step"),
    ({"path": "a.json", "step": 0}, "must be positive"),
    ({"path": "a.json", "timeout_seconds": 0}, "greater than 0"),
])
def test_invalid_params_rejected(params, message):
    with pytest.raises(ValidationError, match=message):
        PrometheusParams(**params)


def test_end_before_start_rejected():
    with pytest.raises(CollectorError, match="is before start"):
        collect(path=RANGE_FILE, start="now-1h", end="now-2h")


# Queries sent to a server


class Server:
    """A Prometheus stand-in on 127.0.0.1 that records each request's path and query."""

    def __init__(self) -> None:
        self.status = 200
        self.body = (DATA / RANGE_FILE).read_bytes()
        self.headers: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append((parts.path, parse_qs(parts.query)))
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                for name, value in server.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture()
def server() -> Iterator[Server]:
    stand_in = Server()
    thread = threading.Thread(target=stand_in.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    stand_in.httpd.shutdown()
    stand_in.httpd.server_close()
    thread.join()


def test_server_range_query_parameters(server, tmp_path):
    collect(tmp_path, url=server.url, query="process_resident_memory_bytes", start="now-2h", step="1m")
    path, query = server.requests[0]
    assert path == "/api/v1/query_range"
    assert query["query"] == ["process_resident_memory_bytes"]
    assert query["start"] == ["1796407200"]
    assert query["end"] == ["1796414400"]
    assert query["step"] == ["60"]


def test_server_range_query_facts(server, tmp_path):
    collected = collect(tmp_path, url=server.url, query="process_resident_memory_bytes",
                        start="2026-12-04T18:00:00Z", end="2026-12-04T20:00:00Z", step=60)
    assert collected.facts["series"][FLAT]["missed_scrapes"] == 3
    assert collected.facts["max_value"] == 935215722.0


def test_server_response_saved_as_artifact(server, tmp_path):
    collected = collect(tmp_path, url=server.url, query="process_resident_memory_bytes",
                        start="now-2h", step=60)
    [artifact] = collected.artifacts
    assert artifact.parent == tmp_path / "evidence" / "tmp"
    assert artifact.read_bytes() == server.body


def test_server_instant_query_sends_run_time(server, tmp_path):
    server.body = (DATA / "prometheus" / "query-up-vector.json").read_bytes()
    facts = collect(tmp_path, url=server.url + "/", query="up").facts
    path, query = server.requests[0]
    assert path == "/api/v1/query"
    assert query == {"query": ["up"], "time": ["1796414400"]}
    assert facts["series_count"] == 2


def test_server_error_quoted(server, tmp_path):
    server.status = 400
    server.body = (DATA / "prometheus" / "query-error-bad-data.json").read_bytes()
    with pytest.raises(CollectorError, match="HTTP 400: .*errorType 'bad_data': invalid parameter"):
        collect(tmp_path, url=server.url, query="sum(")
    assert not (tmp_path / "evidence" / "tmp").exists()


def test_server_response_over_limit(server, tmp_path):
    with pytest.raises(CollectorError, match="larger than max_response_bytes"):
        collect(tmp_path, url=server.url, query="up", max_response_bytes=1000)


def test_server_redirect_not_followed(server, tmp_path):
    server.status = 302
    server.headers = {"Location": "http://192.0.2.1/api/v1/query"}
    with pytest.raises(CollectorError, match="redirected .* to http://192.0.2.1/"):
        collect(tmp_path, url=server.url, query="up")
    assert len(server.requests) == 1


def test_server_proxy_variables_ignored(server, tmp_path, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:3128")
    collect(tmp_path, url=server.url, query="up")
    assert len(server.requests) == 1


def test_remote_url_rejected():
    with pytest.raises(ValidationError, match="'192.0.2.1' is not 127.0.0.1, localhost or ::1"):
        PrometheusParams(url="http://192.0.2.1/", query="up")


def test_remote_url_not_contacted(tmp_path, monkeypatch):
    def connect(*args: object, **kwargs: object) -> None:
        raise AssertionError("the collector opened a connection")

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket.socket, "connect", connect)
    # model_construct skips validation, as a caller that builds params by hand could.
    params = PrometheusParams.model_construct(
        path=None, url="http://192.0.2.1/", query="up", start=None, end=None, step=None,
        timeout_seconds=30.0, max_response_bytes=1000, allow_remote=False,
    )
    with pytest.raises(CollectorError, match="allow_remote: true"):
        Prometheus().collect(params, CollectContext(workspace=tmp_path, now=NOW))


def test_remote_url_allowed_explicitly():
    params = PrometheusParams(url="https://prometheus.example.org", query="up", allow_remote=True)
    assert params.allow_remote is True


@pytest.mark.parametrize("url", ["http://localhost:9090", "http://[::1]:9090", "https://127.0.0.1/prometheus"])
def test_loopback_urls_accepted(url):
    assert PrometheusParams(url=url, query="up").url == url


def test_server_timeout(tmp_path):
    # The socket accepts connections into its backlog but never sends a response.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(CollectorError, match="timed out after 0.2 s"):
            collect(tmp_path, url=f"http://127.0.0.1:{port}", query="up", timeout_seconds=0.2)

