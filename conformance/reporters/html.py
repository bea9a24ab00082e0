"""The HTML report: one self-contained file (inline CSS, no scripts or external assets).

Everything that comes from the server or the spec is escaped. Failure details use
`<details>`, so they collapse without JavaScript.
"""

from html import escape

from conformance.reporters.report import Report
from conformance.results import Result

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d1d1f;
padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}.meta{color:#555;margin:.2rem 0}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#1a7f37}.bad{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f6f8fa}.passed{color:#1a7f37}.failed{color:#cf222e;font-weight:600}
.error{color:#9a6700;font-weight:600}.skipped{color:#6e7781}
details{margin:.6rem 0;border:1px solid #ddd;border-radius:4px;padding:.4rem .8rem}
summary{cursor:pointer;font-weight:600}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
"""


def _row(result: Result) -> str:
    r = result.requirement
    message = result.message.splitlines()[0] if result.message else ""
    return (
        f"<tr><td><code>{escape(r.id)}</code></td><td>{escape(r.level)}</td>"
        f"<td>{escape(r.statement)}</td>"
        f'<td class="{result.verdict.value}">{escape(result.verdict.value.upper())}</td>'
        f"<td>{result.cases}</td><td>{escape(message)}</td></tr>"
    )


def _details(result: Result, report: Report) -> str:
    r = result.requirement
    parts = [
        f"<details><summary>{escape(r.id)} ({escape(r.level)}): {escape(r.statement)}</summary>",
        f"<p>Source: {escape(r.source)}</p><pre>{escape(result.message)}</pre>",
    ]
    for number, exchange in enumerate(result.exchanges, 1):
        parts.append(
            f"<p>Request {number}</p><pre>{escape(exchange.as_curl())}</pre>"
            f"<p>Response</p><pre>{escape(exchange.response_text(4000))}</pre>"
        )
    if result.seed is not None:
        parts.append(f"<p>Seed {result.seed}. Replay:</p><pre>{escape(report.replay)}</pre>")
    parts.append("</details>")
    return "".join(parts)


def write_html(report: Report) -> str:
    counts = report.counts()
    verdict = report.verdict.value.upper()
    badge = "ok" if report.conformant else "bad"
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    problems = report.problems()
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Conformance report: {escape(report.api)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Conformance report: {escape(report.api)}</h1>",
        f'<p><span class="badge {badge}">{verdict}</span></p>',
        f'<p class="meta">Base URL: <code>{escape(report.base_url)}</code> · profile '
        f"{escape(report.profile)} · seed {report.seed} · started {escape(report.started_at)}"
        f" · {report.duration_s:.1f} s</p>",
        f'<p class="meta">{escape(summary)}</p>',
    ]
    if report.error:
        body.append(f'<p class="failed">The run could not complete: {escape(report.error)}</p>')
    body += [
        "<table><thead><tr><th>ID</th><th>Level</th><th>Requirement</th><th>Verdict</th>"
        "<th>Cases</th><th>Message</th></tr></thead><tbody>",
        *(_row(result) for result in report.results),
        "</tbody></table>",
    ]
    if problems:
        body.append("<h2>Failures</h2>")
        body += [_details(result, report) for result in problems]
    if report.replay:
        body.append(f"<h2>Replay</h2><pre>{escape(report.replay)}</pre>")
    body.append("</body></html>")
    return "\n".join(body) + "\n"
