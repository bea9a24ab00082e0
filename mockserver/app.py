"""`create_app()`: every spec served at once, or one at the root, plus the control plane."""

import logging
from pathlib import Path

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kycspec.loader import SPECS_DIR, load_directory
from kycspec.problems import DocumentError, DocumentErrors
from mockserver.api import create_api_app, declared_error_headers
from mockserver.control import create_control_app
from mockserver.delivery import POLL_INTERVAL_S, DeliveryWorker
from mockserver.edge import DEFAULT_MAX_BODY_BYTES, ApiEdge
from mockserver.fixtures import FixtureRecord
from mockserver.formats import register_formats
from mockserver.head import canonical
from mockserver.hotpath import HotLane
from mockserver.landing import LandingPage
from mockserver.outbox import RetryPolicy
from mockserver.readtimeout import DEFAULT_READ_TIMEOUT_S, ReadTimeout
from mockserver.sandbox import TokenPolicy
from mockserver.server import MockServer
from mockserver.store import InMemoryStore, Store

CONTROL_PREFIX = "__mock"

# connexion logs every refused request (at INFO and WARNING) and a warning per operation with
# several media types (FinX's form and JSON bodies). The mock already answers each refusal with
# a clear error, and unexpected errors are logged by mockserver.api, so only errors remain.
logging.getLogger("connexion").setLevel(logging.ERROR)
# Its form validator logs a client's invalid form field at ERROR: still the client's mistake.
logging.getLogger("connexion.validators").setLevel(logging.CRITICAL)


class MockApp:
    """The ASGI app: dispatches on the first path segment without rewriting the path, and runs
    the webhook delivery worker from start-up to shutdown (ASGI lifespan).

    Every request body must keep coming (`reads`, `mockserver.readtimeout`): one that stalls
    is answered `408`, and a stop (`reads.stop()`) cuts one still coming after a short grace.

    A `GET` of an API's root (`/finx`, `/finhub/api/v2.1`, `/` for `--api`), where no operation
    lives, redirects to that API's interactive docs (`docs`: path without a trailing slash to
    docs URL).

    `problems` are the documents that could not be served (the others are).
    """

    def __init__(
        self,
        server: MockServer,
        routes: dict[str, ASGIApp],
        root: ASGIApp,
        docs: dict[str, str] | None = None,
        worker: DeliveryWorker | None = None,
        problems: tuple[DocumentError, ...] = (),
        reads: ReadTimeout | None = None,
    ):
        self.server = server
        self.reads = reads or ReadTimeout()
        self.worker = worker or DeliveryWorker(server.outbox, server.sweep)
        self.problems = problems
        self.routes = routes
        self.root = root
        self.docs = docs or {}
        self.asgi = CORSMiddleware(
            self._dispatch,
            allow_origins=["*"],
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["*"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            scope = canonical(scope)  # every layer behind reads the one canonical head
            receive = self.reads.wrap(receive)
            target = self._route(scope)
            if isinstance(target, ApiEdge):
                handed_on = await target.hot(scope, receive, send)
                if handed_on is None:
                    return
                receive = handed_on
        await self.asgi(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Ready (`GET /__mock/health`) from start-up until shutdown begins; shutdown saves and
        closes the store."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.worker.start()
                self.server.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.server.ready = False
                await self.worker.stop()
                self.server.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _route(self, scope: Scope) -> ASGIApp | None:
        """The app a request goes to by its first path segment; None for an API root's docs
        redirect."""
        path: str = scope["path"]
        if scope.get("method") in ("GET", "HEAD") and path.rstrip("/") in self.docs:
            return None
        segment = path.split("/", 2)[1] if path.startswith("/") else ""
        return self.routes.get(segment, self.root)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self._route(scope)
        if target is None:
            docs = self.docs[scope["path"].rstrip("/")]
            await RedirectResponse(docs, status_code=302)(scope, receive, send)
            return
        await target(scope, receive, send)


def create_app(
    specs_dir: Path = SPECS_DIR,
    *,
    api: str | None = None,
    store: Store | None = None,
    fixtures: list[FixtureRecord] | None = None,
    policy: TokenPolicy | None = None,
    validate_responses: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    public_url: str = "",
    control_token: str | None = None,
    slow_path: bool = False,
    webhook_urls: tuple[str, ...] = (),
    webhook_retry: RetryPolicy | None = None,
    webhook_poll_s: float = POLL_INTERVAL_S,
    strict: bool = False,
    allow_remote_refs: bool = False,
    infer: bool = False,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
) -> MockApp:
    """The mock server for every document in `specs_dir`.

    With `api`, that API is served at the root (its spec's own base path), so a vendor base URL
    maps one to one; without it each API lives under `/<name>` and `/` lists them. With
    `control_token`, the control plane's operations (all but the health check) require it as a
    bearer token. With `slow_path`, every request goes through connexion's reference middleware
    chain instead of the compiled operations (`mockserver.compiled`); the answers are the same.
    `webhook_urls` receive every sandbox's webhook events, retried as
    `webhook_retry` says; the delivery worker looks for due work every `webhook_poll_s` seconds.
    A document that cannot be served is reported in `MockApp.problems` and on `/`, and the
    others are served; with `strict`, or when none can be served, they raise `DocumentErrors`
    (every problem) instead. With `infer`, plain documents get the `x-` extensions REST
    conventions imply (`kycspec.infer`). A request body that sends nothing for
    `read_timeout_s` seconds is answered `408` (`mockserver.readtimeout`).
    """
    register_formats()
    loaded = load_directory(specs_dir, allow_remote_refs=allow_remote_refs, infer=infer)
    if loaded.problems and (strict or not loaded.specs):
        raise DocumentErrors(loaded.problems)
    specs = loaded.specs
    if api is not None and api not in specs:
        raise ValueError(f"unknown API {api!r}; known: {', '.join(specs)}")
    server = MockServer(
        specs,
        store or InMemoryStore(),
        policy or TokenPolicy(),
        fixtures or [],
        webhook_urls=webhook_urls,
        retry=webhook_retry,
    )
    worker = DeliveryWorker(server.outbox, server.sweep, poll_s=webhook_poll_s)
    served = [api] if api else list(specs)
    links = []
    docs: dict[str, str] = {}
    apps: dict[str, ASGIApp] = {}
    for name in served:
        spec = specs[name]
        base_path = ("" if api else f"/{name}") + spec.base_path
        policy_for_api = server.policy_for(name)
        lane = None if slow_path else HotLane()
        connexion_app = create_api_app(
            spec,
            server.engines[name],
            policy_for_api,
            base_path=base_path,
            validate_responses=validate_responses,
            slow_path=slow_path,
            lane=lane,
        )
        apps[name] = ApiEdge(
            connexion_app,
            spec,
            server.store,
            policy_for_api,
            max_body_bytes=max_body_bytes,
            lane=lane,
            error_headers=declared_error_headers(spec, base_path) if spec.stateful else None,
        )
        if "/" not in spec.document["paths"]:  # an API root with no operation of its own
            roots = {base_path, "" if api else f"/{name}"}
            docs.update(dict.fromkeys(roots, f"{base_path}/ui/"))
        links.append(
            {
                "name": name,
                "title": spec.title,
                "base_url": f"{public_url}{base_path}",
                "docs_url": f"{public_url}{base_path}/ui/",
                "mode": "stateful" if spec.stateful else "stateless",
            }
        )
    control = create_control_app(
        server,
        links,
        validate_responses=validate_responses,
        token=control_token,
        slow_path=slow_path,
    )
    reads = ReadTimeout(read_timeout_s)
    if api:
        routes: dict[str, ASGIApp] = {CONTROL_PREFIX: control}
        return MockApp(server, routes, apps[api], docs, worker, loaded.problems, reads)
    landing = LandingPage(links, server.policy, [p.to_json() for p in loaded.problems])
    routes = {CONTROL_PREFIX: control, **apps}
    return MockApp(server, routes, landing, docs, worker, loaded.problems, reads)
