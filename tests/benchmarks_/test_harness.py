"""The serving benchmark's own parts: wrk report parsing, the floor app, the rotation script."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from benchmarks.serving import lua_script, parse_wrk

WRK_REPORT = """Running 15s test @ http://127.0.0.1:40123
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    1.20ms  40.00ms   90.00%
    Req/Sec     3.20k   200.00     3.60k    70.00%
  Latency Distribution
     50%    4.85ms
     75%    5.50ms
     90%    6.40ms
     99%    1.02s
  95536 requests in 15.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   6369.07
Transfer/sec:      8.00MB
"""


def test_parse_wrk_reads_rate_percentiles_in_ms_and_all_errors() -> None:
    r = parse_wrk(WRK_REPORT)
    assert r["requests_per_s"] == pytest.approx(6369.07)
    assert r["requests"] == 95536
    assert r["p50_ms"] == pytest.approx(4.85) and r["p99_ms"] == pytest.approx(1020.0)
    assert r["errors"] == 2 + 3 + 7


def test_parse_wrk_without_percentiles_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="50%"):
        parse_wrk("Requests/sec: 10\n")


def test_lua_script_rotates_over_ids_inside_the_path(tmp_path: Path) -> None:
    text = lua_script(["c1", "c2"], "/recommend/{customer}?k=10", tmp_path).read_text()
    assert 'local ids = {"c1","c2"}' in text
    assert 'local prefix, suffix = "/recommend/", "?k=10"' in text


def test_floor_app_answers_any_path_with_the_fixed_body(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib

    body = tmp_path / "body.json"
    body.write_bytes(b'{"items":[1,2,3]}')
    monkeypatch.setenv("FLOOR_BODY_FILE", str(body))
    import benchmarks.floor_app as floor_app

    floor_app = importlib.reload(floor_app)

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=floor_app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://floor") as client:
            return await client.get(path)

    response = asyncio.run(get("/recommend/anyone?k=3"))
    assert response.status_code == 200 and response.content == b'{"items":[1,2,3]}'
    assert response.headers["content-length"] == str(len(b'{"items":[1,2,3]}'))
