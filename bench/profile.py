"""Where a mock request spends its time: py-spy samples the mock under wrk load.

`python -m bench.profile` profiles get-by-id and create (JSON) on the mock's default HTTP server
(`--server` to choose) and prints, per endpoint, the share of samples spent inside each function
(inclusive) and in each function's own code (self), plus a breakdown by layer. On uvicorn the
socket write runs on the Python thread, in one function (`SOCKET_WRITES`), and is counted
apart; on Granian it runs on Granian's Rust threads, outside the samples (the hand-over, a call
of Granian's `send`, counts in the frame that makes it). The raw collapsed stacks go to
bench/results/raw/ (open them in speedscope); bench/PROFILE.md is written from these figures.
"""

import argparse
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

from bench.scale import seed_throughput
from bench.targets import RAW, VENV_BIN, free_port, mock_target, running
from bench.wrk import ENDPOINTS, Endpoint, lua_script
from mockserver.httpserver import DEFAULT_SERVER, GRANIAN, SERVERS, UVICORN

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")

# Layers, matched on the file path of the innermost frame that names one, outermost rule first.
LAYERS = [
    ("response validation", "connexion/validators/json.py:ResponseValidator"),
    ("request body validation", "connexion/validators/"),
    ("jsonschema", "jsonschema/"),
    ("security (bearer)", "connexion/security"),
    ("parameter decorator", "connexion/decorators/"),
    ("connexion routing / middleware", "connexion/"),
    ("mock engine + store", "mockserver/engine.py"),
    ("mock store", "mockserver/store.py"),
    ("mock edge (log, limits)", "mockserver/edge.py"),
    ("mock compiled operations (dispatch, arguments)", "mockserver/compiled.py"),
    ("mock other", "mockserver/"),
    ("kycspec expressions", "kycspec/"),
    ("starlette", "starlette/"),
    ("uvicorn / httptools", "uvicorn/"),
    ("granian (ASGI glue)", "granian/"),
    ("asyncio / uvloop", "asyncio/"),
    ("logging", "logging/"),
]


# The function the socket write happens in, on the Python thread, per HTTP server.
SOCKET_WRITES = {UVICORN: "RequestResponseCycle.send", GRANIAN: None}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (clock ticks of 1/100 s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) pairs of a collapsed stack, outermost first."""
    found = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        found.append((match["func"], match["file"]) if match else (frame, ""))
    return found


def layer_of(stack: list[tuple[str, str]]) -> str:
    """The innermost layer a sample is in (a jsonschema call made by a validator is validation)."""
    for func, file in reversed(stack):
        for name, pattern in LAYERS:
            path, _, function = pattern.partition(":")
            if path in file and (not function or function in func):
                return name
    return "other"


def summarise(raw: Path, server: str, top: int = 25) -> str:
    """Inclusive and self shares per function, and shares per layer, of samples taken on
    `server` (its socket write counted apart where it is on the Python thread)."""
    write = SOCKET_WRITES[server]
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    written = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        stack = frames(stack_text)
        total += count
        names = [f"{func} ({_short(file)})" for func, file in stack]
        for name in set(names):
            inclusive[name] += count
        own[names[-1]] += count
        if stack[-1][0] == write:
            written += count  # the socket write, or the wait to run again after waking wrk
        else:
            layers[layer_of(stack)] += count
    rest = total - written
    if write is None:
        out = [f"{raw.name} ({server}): {total} samples; the socket writes run on {server}'s "]
        out[0] += "own threads, outside these samples"
    else:
        out = [f"{raw.name} ({server}): {total} samples, {100 * written / total:.1f}% in {write}"]
        out[0] += " (socket write)"
    out += ["", "by layer, as a share of the samples outside the socket write:"]
    out += [f"  {100 * n / rest:5.1f}%  {name}" for name, n in layers.most_common()]
    out += ["", "inclusive (time inside the function and its callees):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    out += ["", "self (time in the function's own code):"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(out) + "\n"


def _short(file: str) -> str:
    return file.rsplit("site-packages/", maxsplit=1)[-1].rsplit("/work/main/", maxsplit=1)[-1]


def profile(endpoint: Endpoint, seconds: int, rate: int, server: str) -> tuple[Path, str]:
    """Sample the mock on `server` for `seconds` while wrk keeps 32 connections busy.

    Also returns the server's CPU time per request over the whole wrk run, which, unlike
    sample shares, does not depend on how busy the rest of the machine is.
    """
    target = mock_target(free_port(), server=server)
    stem = f"profile_{endpoint.name.replace(' ', '_')}" + (
        "" if server == DEFAULT_SERVER else f"_{server}"
    )
    raw = RAW / f"{stem}.txt"
    script = RAW / f"{stem}.lua"
    script.write_text(lua_script(endpoint, target.headers))
    with running([target]):
        seed_throughput(target)
        cpu_before = cpu_seconds(target.pid)
        load = subprocess.Popen(
            [
                "wrk",
                "-t1",
                "-c32",
                f"-d{seconds + 4}s",
                "--latency",
                "-s",
                str(script),
                target.url + endpoint.path,
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            subprocess.run(
                [
                    str(VENV_BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(target.pid),
                    "--rate",
                    str(rate),
                    "--duration",
                    str(seconds),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(raw),
                ],
                check=True,
                capture_output=True,
                timeout=seconds + 60,
            )
            wrk_out = load.communicate(timeout=seconds + 30)[0]
            cpu = cpu_seconds(target.pid) - cpu_before
        finally:
            if load.poll() is None:
                load.kill()
    (raw.with_suffix(".wrk.txt")).write_text(wrk_out)
    requests = int(re.search(r"(\d+) requests in", wrk_out)[1])  # type: ignore[index]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk_out)[1]  # type: ignore[index]
    cpu_line = (
        f"under load (wrk, 32 connections, {seconds + 4} s, py-spy attached): {rps} req/s, "
        f"server CPU {1e6 * cpu / requests:.0f} us per request"
    )
    return raw, cpu_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--endpoints", default="get by id,create json")
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    args = parser.parse_args()
    wanted = args.endpoints.split(",")
    for endpoint in [e for e in ENDPOINTS if e.name in wanted]:
        raw, cpu_line = profile(endpoint, args.seconds, args.rate, args.server)
        text = cpu_line + "\n" + summarise(raw, args.server)
        raw.with_suffix(".summary.txt").write_text(text)
        print(f"== {endpoint.name}\n{text}", flush=True)


if __name__ == "__main__":
    main()
