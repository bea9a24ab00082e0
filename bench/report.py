"""Results to bench/results/: latest.json (every raw number), latest.md (tables), chart.png;
`--output NAME` writes NAME.json, NAME.md and chart-NAME.png there, `--output DIR/NAME` in DIR."""

import json
import os
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# The goals of the performance issue, checked against every run.
GOAL_VS_PRISM = 2.0
GOAL_P99_MS = 10.0
GOAL_VS_CEILING_GET = 0.5
GOAL_SCALE_RATIO = 1.5
GOAL_BYTES_PER_RECORD = 1024


def ratio(a: float, b: float | None) -> float | None:
    return a / b if b else None


def throughput_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target and endpoint, with the median figures and the ratios."""
    medians = data["throughput"]["median"]
    rows = []
    for endpoint in data["throughput"]["endpoints"]:
        prism = medians.get("prism", {}).get(endpoint)
        ceiling = medians.get("ceiling", {}).get(endpoint)
        for target, by_endpoint in medians.items():
            m = by_endpoint[endpoint]
            rows.append(
                {
                    "target": target,
                    "endpoint": endpoint,
                    **m,
                    "vs_prism": ratio(m["rps"], prism["rps"] if prism else None),
                    "vs_ceiling": ratio(m["rps"], ceiling["rps"] if ceiling else None),
                }
            )
    return rows


def goals(data: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """(goal, met, evidence) for each target of the issue."""
    rows = [r for r in throughput_rows(data) if r["target"] == "mock"]
    found: list[tuple[str, bool | None, str]] = []
    vs = [r["vs_prism"] for r in rows if r["vs_prism"] is not None]
    found.append(
        (
            f"mock >= {GOAL_VS_PRISM:g}x Prism req/s on every endpoint",
            (min(vs) >= GOAL_VS_PRISM) if vs else None,
            f"worst {min(vs):.2f}x" if vs else "Prism not measured",
        )
    )
    get = next((r for r in rows if r["endpoint"] == "get by id"), None)
    found.append(
        (
            f"mock >= {GOAL_VS_CEILING_GET:.0%} of the Starlette ceiling on get by id",
            get["vs_ceiling"] >= GOAL_VS_CEILING_GET if get and get["vs_ceiling"] else None,
            f"{get['vs_ceiling']:.2f}x" if get and get["vs_ceiling"] else "not measured",
        )
    )
    worst = max(rows, key=lambda r: r["p99_ms"]) if rows else None
    found.append(
        (
            f"mock p99 <= {GOAL_P99_MS:g} ms at 32 connections",
            worst["p99_ms"] <= GOAL_P99_MS if worst else None,
            f"worst {worst['p99_ms']:.1f} ms ({worst['endpoint']})" if worst else "not measured",
        )
    )
    scale = data.get("scale") or []
    ratios = []
    for query in dict.fromkeys(s["query"] for s in scale):
        by_size = {s["records"]: s["p50_ms"] for s in scale if s["query"] == query}
        if 1_000 in by_size and 100_000 in by_size:
            ratios.append((query, by_size[100_000] / by_size[1_000]))
    found.append(
        (
            f"list p50 at 100k <= {GOAL_SCALE_RATIO:g}x p50 at 1k",
            all(r <= GOAL_SCALE_RATIO for _, r in ratios) if ratios else None,
            ", ".join(f"{q} {r:.2f}x" for q, r in ratios) or "not measured",
        )
    )
    memory = data.get("memory") or {}
    per = memory.get("bytes_per_record")
    found.append(
        (
            f"<= {GOAL_BYTES_PER_RECORD} bytes RSS per record",
            per <= GOAL_BYTES_PER_RECORD if per is not None else None,
            f"{per:.0f} bytes/record" if per is not None else memory.get("error", "not measured"),
        )
    )
    return found


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def markdown(data: dict[str, Any]) -> str:
    env = data["environment"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {env['started']}, {env['wall_seconds']:.0f} s in all. {env['cpus']} CPUs (shared), "
        f"load average {env['loadavg']} before the run and "
        f"{env.get('loadavg_after', '?')} after (other work shares the machine). "
        f"Load generator: {env['load_generator']}, "
        f"{env['connections']} connections, {env['repeats']} runs of {env['seconds']:g} s per "
        f"cell (after a {env['warmup']:g} s warm-up), rounds interleaved across targets; "
        "medians quoted. Targets: " + "; ".join(f"**{k}**: {v}" for k, v in env["targets"].items()),
        "",
        "## Throughput and latency (FinX /v1/kyc)",
        "",
        "| target | endpoint | req/s (median) | p50 ms | p99 ms | vs Prism | vs ceiling "
        "| non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in throughput_rows(data):
        lines.append(
            f"| {r['target']} | {r['endpoint']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {_x(r['vs_prism'])} | {_x(r['vs_ceiling'])} | {r['non2xx']} |"
        )
    lines += ["", "## Goals", "", "| goal | met | evidence |", "|---|---|---|"]
    for goal, met, evidence in goals(data):
        mark = "n/a" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {goal} | {mark} | {evidence} |")
    lines += _rest(data)
    notes = data.get("notes") or []
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def _rest(data: dict[str, Any]) -> list[str]:
    """The list-by-size, memory and conformance sections; one line saying they were not run
    when the run measured throughput only."""
    scale = data.get("scale") or []
    memory = data.get("memory") or {}
    conformance = data.get("conformance") or {}
    if not scale and "bytes_per_record" not in memory and not conformance.get("apis"):
        return ["", "List latency by size, memory and conformance run time: not measured."]
    lines = [
        "",
        "## List latency by sandbox size (mock, 1 connection, medians of interleaved rounds)",
        "",
        "| records | query | p50 ms | p99 ms | load time s |",
        "|---:|---|---:|---:|---:|",
    ]
    for s in scale:
        lines.append(
            f"| {s['records']:,} | {s['query']} (`{s['path']}`) | {s['p50_ms']:.2f} | "
            f"{s['p99_ms']:.2f} | {s['load_seconds']:.1f} |"
        )
    lines += ["", "## Memory", ""]
    if "bytes_per_record" in memory:
        lines.append(
            f"{memory['records']:,} FinX records in one sandbox (in-process `create_app` + "
            f"`server.load`): RSS {memory['rss_before'] / 2**20:.0f} MiB before, "
            f"{memory['rss_after'] / 2**20:.0f} MiB after: **{memory['bytes_per_record']:.0f} "
            f"bytes per record** (loaded in {memory['load_seconds']:.0f} s)."
        )
    else:
        lines.append(f"Not measured: {memory.get('error', 'skipped')}")
    lines += ["", "## Conformance run time", ""]
    if "skipped" in conformance:
        lines.append(f"Skipped: {conformance['skipped']}.")
    for name, c in (conformance.get("apis") or {}).items():
        lines.append(f"- {name}: {c['seconds']:.1f} s (exit {c['exit_code']})")
    return lines


def chart(data: dict[str, Any], path: Path) -> None:
    """Grouped bars: req/s and p99 per endpoint, one colour per target."""
    from matplotlib.figure import Figure  # noqa: PLC0415 (the bench extra; not for the rest)

    rows = throughput_rows(data)
    endpoints = data["throughput"]["endpoints"]
    targets = list(data["throughput"]["median"])
    fig = Figure(figsize=(13, 4.5))
    axes = fig.subplots(1, 2)
    width = 0.8 / len(targets)
    for i, target in enumerate(targets):
        mine = {r["endpoint"]: r for r in rows if r["target"] == target}
        xs = [j + i * width for j in range(len(endpoints))]
        axes[0].bar(xs, [mine[e]["rps"] for e in endpoints], width, label=target)
        axes[1].bar(xs, [mine[e]["p99_ms"] for e in endpoints], width, label=target)
    for ax, title in zip(
        axes, ["req/s (median, higher is better)", "p99 latency ms (lower is better)"], strict=True
    ):
        ax.set_title(title)
        ax.set_xticks([j + width * (len(targets) - 1) / 2 for j in range(len(endpoints))])
        ax.set_xticklabels(endpoints, rotation=15)
        ax.legend()
    axes[1].axhline(GOAL_P99_MS, color="grey", linestyle="--", linewidth=1)
    fig.suptitle(f"FinX /v1/kyc, {data['environment']['connections']} connections")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def output_paths(output: str) -> tuple[Path, Path, Path]:
    """The JSON, Markdown and chart files of `--output`: a plain name goes to bench/results/,
    a path (`runs/today`, `/tmp/x/today`) to its own directory; the chart of `latest` is
    `chart.png`, any other's `chart-<name>.png`."""
    given = Path(output)
    directory = RESULTS if given.parent == Path() else given.parent
    name = given.name
    chart_name = "chart.png" if output == "latest" else f"chart-{name}.png"
    return directory / f"{name}.json", directory / f"{name}.md", directory / chart_name


def prepare(output: str) -> None:
    """Create the directory `output` writes to; raises `OSError` (with `strerror`) when it
    cannot be created or written, so a run can refuse before it starts."""
    directory = output_paths(output)[0].parent
    directory.mkdir(parents=True, exist_ok=True)
    if not os.access(directory, os.W_OK):
        raise PermissionError(13, os.strerror(13), str(directory))


def write(data: dict[str, Any], output: str = "latest") -> str:
    """Write every output (`output_paths`); returns the Markdown."""
    prepare(output)
    json_path, markdown_path, chart_path = output_paths(output)
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    text = markdown(data)
    markdown_path.write_text(text)
    chart(data, chart_path)
    return text
