"""The page at `/`: which APIs are served, where, with links to their interactive docs."""

import html

import orjson
from starlette.types import Receive, Scope, Send

from kycspec.stateless import MAKE_STATEFUL
from mockserver.sandbox import TokenPolicy

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kyc-contracts mock</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .25rem}}td,th{{padding:.25rem .75rem;text-align:left}}</style>
</head><body>
<h1>kyc-contracts mock server</h1>
<p>Stateful mocks of the APIs below, generated from their OpenAPI specs. Send
<code>Authorization: Bearer {user_prefix}&lt;name&gt;</code> for your own sandbox
(<code>{admin_prefix}&lt;name&gt;</code> for admin operations).</p>
<table><tr><th>API</th><th>Base URL</th><th>Docs</th><th>Mode</th></tr>{rows}</table>
{stateless}{problems}
<p>Control plane: <a href="/__mock/ui/">/__mock/ui/</a> (reset, fixtures, snapshots, clock,
request log).</p>
</body></html>"""
ROW = (
    "<tr><td>{title}</td><td><code>{base_url}</code></td>"
    '<td><a href="{docs_url}">try it</a></td><td>{mode}</td></tr>'
)
STATELESS = (
    "<p>Stateless APIs answer from their documents' examples and schemas. To make one "
    "stateful, {how}.</p>"
)
PROBLEMS = "<h2>Not served</h2><p>These documents could not be served:</p><ul>{items}</ul>"
PROBLEM = "<li><code>{file}#{pointer}</code>: {message}</li>"
NOT_FOUND = {"title": "Not Found", "status": 404, "detail": "No API is served at this path."}


def _escaped(values: dict[str, str]) -> dict[str, str]:
    return {key: html.escape(value) for key, value in values.items()}


class LandingPage:
    """Serves `/` (HTML, or JSON for `Accept: application/json`) and a 404 for other paths.

    The page shows the token prefixes in force (`--user-prefix`, `--admin-prefix`), which APIs
    are stateless, and the documents that could not be served.
    """

    def __init__(
        self,
        links: list[dict[str, str]],
        policy: TokenPolicy,
        problems: list[dict[str, str]] | None = None,
    ):
        problems = problems or []
        rows = "".join(ROW.format(**_escaped(link)) for link in links)
        stateless = any(link.get("mode") == "stateless" for link in links)
        self.page = PAGE.format(
            rows=rows,
            user_prefix=html.escape(policy.user_prefix),
            admin_prefix=html.escape(policy.admin_prefix),
            stateless=STATELESS.format(how=html.escape(MAKE_STATEFUL)) if stateless else "",
            problems=PROBLEMS.format(items="".join(PROBLEM.format(**_escaped(p)) for p in problems))
            if problems
            else "",
        ).encode()
        self.links = orjson.dumps({"apis": links, "problems": problems})
        self.not_found = orjson.dumps({**NOT_FOUND, "apis": links})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        wants_json = b"application/json" in headers.get(b"accept", b"")
        if scope["path"] != "/":
            status, body, media = 404, self.not_found, b"application/problem+json"
        elif wants_json:
            status, body, media = 200, self.links, b"application/json"
        else:
            status, body, media = 200, self.page, b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
