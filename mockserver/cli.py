"""`mockserver serve`: run the mock with uvicorn."""

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import uvicorn
from rich.console import Console
from rich.table import Table

from kycspec.loader import SPECS_DIR
from kycspec.model import ApiSpec
from mockserver.edge import DEFAULT_MAX_BODY_BYTES
from mockserver.fixtures import FixtureError
from mockserver.storeurl import DEFAULT_STORE, require_shared
from mockserver.workers import (
    CONFIG_ENV,
    WORKER_FACTORY,
    WorkerConfig,
    build_app,
    freeze_startup_objects,
)

console = Console(stderr=True, width=120)


@click.group()
@click.version_option(package_name="kyc-contracts")
def main() -> None:
    """A stateful mock server for the KYC APIs in specs/."""


@main.command()
@click.option("--api", help="Serve only this API, at the root (e.g. finx, kontorion, finhub).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8080, show_default=True, envvar="PORT", help="Port to bind.")
@click.option(
    "--fixtures",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON fixtures loaded at start and after every reset.",
)
@click.option(
    "--specs-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SPECS_DIR,
    show_default=True,
    help="Directory of OpenAPI specs to serve.",
)
@click.option("--user-prefix", default="test_", show_default=True, help="Prefix of user tokens.")
@click.option("--admin-prefix", default="admin_", show_default=True, help="Prefix of admin tokens.")
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    help="Larger request bodies get 413.",
)
@click.option(
    "--validate-responses/--no-validate-responses",
    default=False,
    show_default=True,
    help="Check every response against the spec (slower; the tests turn it on).",
)
@click.option(
    "--store",
    "store_url",
    default=DEFAULT_STORE,
    show_default=True,
    envvar="MOCKSERVER_STORE",
    help="Where state lives: memory://, file://PATH (saved, survives restarts) or "
    "redis://HOST:PORT/DB (shared by every process using it).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes; more than one needs a shared store (redis://).",
)
@click.option("--log-level", default="warning", show_default=True, help="uvicorn log level.")
def serve(
    api: str | None,
    host: str,
    port: int,
    fixtures: Path | None,
    specs_dir: Path,
    user_prefix: str,
    admin_prefix: str,
    max_body_bytes: int,
    validate_responses: bool,
    store_url: str,
    workers: int,
    log_level: str,
) -> None:
    """Serve every API (each under /<api>), or one API at the root with --api."""
    started = time.perf_counter()
    config = WorkerConfig(
        specs_dir=str(specs_dir),
        api=api,
        fixtures=str(fixtures) if fixtures else None,
        user_prefix=user_prefix,
        admin_prefix=admin_prefix,
        validate_responses=validate_responses,
        max_body_bytes=max_body_bytes,
        public_url=f"http://{_reachable(host)}:{port}",
        store_url=store_url,
    )
    try:
        require_shared(store_url, workers)
        app = build_app(config)
    except (FixtureError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.perf_counter() - started
    _banner(app.server.specs, api, host, port, user_prefix, admin_prefix, elapsed)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "loop": "auto",
        "http": "auto",
        "lifespan": "on",
    }
    if workers > 1:
        # Each worker builds its own app on the shared store; this process only supervises.
        app.server.store.close()
        os.environ[CONFIG_ENV] = config.to_env()
        uvicorn.run(WORKER_FACTORY, factory=True, workers=workers, **options)
        return
    freeze_startup_objects()
    uvicorn.run(app, **options)


def _reachable(host: str) -> str:
    """The host to put in links: a wildcard bind address is reached through loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _banner(
    specs: Mapping[str, ApiSpec],
    api: str | None,
    host: str,
    port: int,
    user_prefix: str,
    admin_prefix: str,
    elapsed: float,
) -> None:
    root = f"http://{_reachable(host)}:{port}"
    table = Table(title=f"kyc-contracts mock, ready in {elapsed:.2f}s", title_justify="left")
    table.add_column("API")
    table.add_column("Base URL")
    table.add_column("Interactive docs")
    for name, spec in specs.items():
        if api and name != api:
            continue
        base = f"{root}{'' if api else '/' + name}{spec.base_path}"
        table.add_row(name, base, f"{base}/ui/")
    console.print(table)
    console.print(
        f"Tokens: [bold]Bearer {user_prefix}<name>[/] opens sandbox <name>; "
        f"[bold]Bearer {admin_prefix}<name>[/] the same sandbox with admin operations."
    )
    aliases = sorted({token for spec in specs.values() for token in spec.tokens})
    if aliases:
        console.print(f"Docs placeholders (sandbox 'docs'): {', '.join(aliases)}")
    console.print(f"Control plane: {root}/__mock/ui/  (reset, fixtures, snapshots, clock, log)")
