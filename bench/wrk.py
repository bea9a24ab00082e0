"""Load generation: wrk with a Lua script per endpoint, or a small asyncio fallback.

The Lua `done()` hook prints the exact numbers (microsecond percentiles, non-2xx count) as one
JSON line, so nothing is parsed out of wrk's human-readable summary.
"""

import asyncio
import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.targets import RAW

GET_ID = "benchVerified001"  # a seeded, verified record
PUT_ID = "benchPending0001"  # a seeded, pending record: the update changes no status
CREATE = {
    "customer_id": "WAz8eIbvDR60rouK",
    "verification_status": "pending",
    "document_type": "passport",
    "document_number": "123456789",
}


@dataclass(frozen=True)
class Endpoint:
    """One request, repeated by every connection."""

    name: str
    method: str
    path: str
    body: str = ""
    content_type: str = ""


ENDPOINTS = [
    Endpoint("get by id", "GET", f"/v1/kyc/{GET_ID}"),
    Endpoint("list filtered", "GET", "/v1/kyc?verification_status=pending&limit=10"),
    Endpoint("create json", "POST", "/v1/kyc", json.dumps(CREATE), "application/json"),
    Endpoint(
        "create form",
        "POST",
        "/v1/kyc",
        "&".join(f"{k}={v}" for k, v in CREATE.items()),
        "application/x-www-form-urlencoded",
    ),
    Endpoint(
        "update",
        "PUT",
        f"/v1/kyc/{PUT_ID}",
        json.dumps({"document_number": "987654321"}),
        "application/json",
    ),
]

DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"non2xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_script(endpoint: Endpoint, headers: dict[str, str]) -> str:
    """The wrk script: method, body and headers of the endpoint, plus the JSON `done()` hook."""
    lines = [f'wrk.method = "{endpoint.method}"']
    if endpoint.body:
        lines.append(f"wrk.body = [==[{endpoint.body}]==]")
        lines.append(f'wrk.headers["Content-Type"] = "{endpoint.content_type}"')
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    return "\n".join(lines) + "\n" + DONE_HOOK


@dataclass(frozen=True)
class Run:
    """One measurement: throughput, latency percentiles and failures."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int

    @staticmethod
    def median(runs: "list[Run]") -> "Run":
        return Run(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            requests=sum(r.requests for r in runs),
            non2xx=sum(r.non2xx for r in runs),
            socket_errors=sum(r.socket_errors for r in runs),
        )


def run_wrk(
    wrk: str,
    base_url: str,
    endpoint: Endpoint,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int = 32,
    threads: int = 1,
) -> Run:
    """One wrk run against `base_url + endpoint.path`."""
    RAW.mkdir(parents=True, exist_ok=True)
    script = RAW / f"wrk_{endpoint.name.replace(' ', '_')}.lua"
    script.write_text(lua_script(endpoint, headers))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url + endpoint.path,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    ).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data = json.loads(line[len("BENCH ") :])
    return Run(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
    )


def run_python(
    base_url: str,
    endpoint: Endpoint,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int = 32,
) -> Run:
    """The fallback when wrk cannot be installed: keep-alive HTTP/1.1 over asyncio streams.

    It burns CPU the server would otherwise get, so its figures are lower than wrk's.
    """
    return asyncio.run(_python_load(base_url, endpoint, headers, seconds, connections))


async def _python_load(
    base_url: str, endpoint: Endpoint, headers: dict[str, str], seconds: float, connections: int
) -> Run:
    url = urlsplit(base_url)
    head = [f"{endpoint.method} {endpoint.path} HTTP/1.1", f"Host: {url.netloc}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    body = endpoint.body.encode()
    if body:
        head += [f"Content-Type: {endpoint.content_type}", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    failures = [0]
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status_line[9:10] != b"2":
                failures[0] += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Run(len(latencies) / elapsed, pick(0.5), pick(0.99), len(latencies), failures[0], 0)


def measure(
    wrk: str | None,
    base_url: str,
    endpoint: Endpoint,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int = 32,
) -> Run:
    """wrk (one thread, leaving the second core to the server) or else the Python fallback."""
    if wrk:
        return run_wrk(wrk, base_url, endpoint, headers, seconds=seconds, connections=connections)
    return run_python(base_url, endpoint, headers, seconds=seconds, connections=connections)
