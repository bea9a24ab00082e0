"""`mockserver serve`: run the mock (on Granian, or uvicorn); `mockserver wait`: wait until one is
ready.

Exit codes of `serve`: 0 stopped normally, 1 could not start (bad fixtures, the server exited
before it was ready), 2 bad arguments, 3 the address cannot be bound (a busy port).
"""

import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from click.decorators import FC
from rich.console import Console
from rich.table import Table

from kycspec.documents import read_openapi
from kycspec.infer import infer
from kycspec.loader import SPECS_DIR
from kycspec.model import ApiSpec
from kycspec.problems import DocumentError
from kycspec.stateless import MAKE_STATEFUL, is_plain
from mockserver.auth import key_hints
from mockserver.edge import DEFAULT_MAX_BODY_BYTES
from mockserver.fixtures import FixtureError
from mockserver.httpserver import DEFAULT_SERVER, LOG_LEVELS, SERVERS, serve_app, serve_workers
from mockserver.listen import bind, bound_port
from mockserver.outbox import RetryPolicy, check_webhook_url
from mockserver.readiness import NotReady, wait_ready
from mockserver.readtimeout import DEFAULT_READ_TIMEOUT_S, STOP_GRACE_S
from mockserver.storeurl import DEFAULT_STORE, check_store_url
from mockserver.workers import (
    CONFIG_ENV,
    WORKER_FACTORY,
    WorkerConfig,
    build_app,
    freeze_startup_objects,
)

console = Console(stderr=True, width=120)
EXIT_CANNOT_START = 2
NOT_SERVED = "Not served ({count}): the other APIs are. Fix these, or start with --strict to stop:"
STATELESS_NOTE = (
    "Stateless ({names}): answers come from examples and schemas; to make one stateful, {how}."
)
ALREADY_DECLARED = "{spec} already declares x- extensions; nothing to infer"


class CannotStart(click.ClickException):
    """A document cannot be served and the start stops (every document bad, or --strict)."""

    exit_code = EXIT_CANNOT_START


EXIT_CANNOT_BIND = 3
CANNOT_BIND = "cannot listen on {host}:{port}: {reason}"
TOKEN_REQUIRED = (
    "--host {host} is reachable from other machines: set --control-token (or "
    "MOCKSERVER_CONTROL_TOKEN) so that only holders of it can reset or change the mock's state"
)
EXITED_EARLY = "the server exited with code {code} before it was ready"
DETACHED = "Running in the background as PID {pid}."
DETACHED_LOG = "Running in the background as PID {pid}; its output goes to {log}."
CONTROL_TOKEN_ENV = "MOCKSERVER_CONTROL_TOKEN"
SLOW_PATH_ENV = "MOCKSERVER_SLOW_PATH"
SERVER_ENV = "MOCKSERVER_SERVER"
DEFAULT_READY_TIMEOUT_S = 60.0
# Options that only concern the process that starts a detached server.
_DETACH_OPTIONS = ("detach", "ready_timeout", "log_file", "fd", "control_token")


def _wait_option(name: str, help_text: str) -> Callable[[FC], FC]:
    """An option of seconds to wait for readiness."""
    return click.option(
        name,
        default=DEFAULT_READY_TIMEOUT_S,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True),
        help=help_text,
    )


class CannotBind(click.ClickException):
    """The address is taken or not this machine's."""

    exit_code = EXIT_CANNOT_BIND


@click.group()
@click.version_option(package_name="kyc-contracts")
def main() -> None:
    """A stateful mock server for the KYC APIs in specs/."""


@main.command()
@click.option("--api", help="Serve only this API, at the root (e.g. finx, kontorion, finhub).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    envvar="PORT",
    show_envvar=True,
    help="Port to bind (0: any free).",
)
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
    "--read-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_READ_TIMEOUT_S,
    show_default=True,
    help="Seconds a connection may send nothing: a request body that stalls this long gets "
    "408, an idle kept-alive connection is closed. On a stop, a body still coming gets "
    f"{STOP_GRACE_S:g} s.",
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
@click.option(
    "--slow-path",
    is_flag=True,
    envvar=SLOW_PATH_ENV,
    show_envvar=True,
    help="Serve every request through connexion's own middleware chain instead of the "
    "compiled operations (the reference the fast path is tested against; same answers, slower).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse to start (exit 2) when any document cannot be served, instead of skipping it.",
)
@click.option(
    "--allow-remote-refs",
    is_flag=True,
    help="Fetch $refs to http(s) URLs at start-up (refused by default).",
)
@click.option(
    "--infer",
    "infer_extensions",
    is_flag=True,
    help="Make plain documents stateful with the x- extensions `mockserver infer` prints.",
)
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default=DEFAULT_SERVER,
    show_default=True,
    envvar=SERVER_ENV,
    show_envvar=True,
    help="The HTTP server: Granian (HTTP on its own threads, about twice uvicorn's requests per "
    "second on two cores) or uvicorn (httptools, uvloop).",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="warning",
    show_default=True,
    help="The HTTP server's log level.",
)
@click.option(
    "--control-token",
    envvar=CONTROL_TOKEN_ENV,
    default=None,
    help=f"Bearer token the control plane (/__mock/) requires; needed unless --host is "
    f"loopback. Also read from {CONTROL_TOKEN_ENV}.",
)
@click.option(
    "--webhook-url",
    "webhook_urls",
    multiple=True,
    callback=lambda ctx, param, value: _webhook_urls(value),
    help="Deliver every sandbox's webhook events to this http(s) URL (repeatable; more "
    "subscribers per sandbox on the control plane).",
)
@click.option(
    "--webhook-retry-base",
    type=click.FloatRange(min=0, min_open=True),
    default=RetryPolicy.base_delay_s,
    show_default=True,
    help="Seconds before the first retry of a failed webhook delivery; each next waits twice as "
    "long.",
)
@click.option(
    "--webhook-attempts",
    type=click.IntRange(min=1),
    default=RetryPolicy.max_attempts,
    show_default=True,
    help="Attempts of a webhook delivery before it is marked failed.",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Start the server in the background, return once it is ready, print its PID (the "
    "banner and PID also go to stderr).",
)
@_wait_option("--ready-timeout", "With --detach: seconds to wait for the server to be ready.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --detach: the server's output goes here (appended; default: this terminal's "
    "stderr). The start banner shows on this terminal's stderr either way.",
)
@click.option("--fd", type=int, default=None, hidden=True, help="Serve on this bound socket.")
def serve(
    api: str | None,
    host: str,
    port: int,
    fixtures: Path | None,
    specs_dir: Path,
    user_prefix: str,
    admin_prefix: str,
    max_body_bytes: int,
    read_timeout: float,
    validate_responses: bool,
    store_url: str,
    workers: int,
    slow_path: bool,
    strict: bool,
    allow_remote_refs: bool,
    infer_extensions: bool,
    server: str,
    log_level: str,
    control_token: str | None,
    webhook_urls: tuple[str, ...],
    webhook_retry_base: float,
    webhook_attempts: int,
    detach: bool,
    ready_timeout: float,
    log_file: Path | None,
    fd: int | None,
) -> None:
    """Serve every API (each under /<api>), or one API at the root with --api."""
    started = time.perf_counter()
    if not control_token and not is_loopback(host):
        raise click.UsageError(TOKEN_REQUIRED.format(host=host))
    try:
        check_store_url(store_url, workers)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    sock = _listening_socket(host, port, fd)
    if detach:
        _detach(sock, host, control_token, ready_timeout, log_file)
        return
    public_url = f"http://{_reachable(host)}:{bound_port(sock)}"
    config = WorkerConfig(
        specs_dir=str(specs_dir),
        api=api,
        fixtures=str(fixtures) if fixtures else None,
        user_prefix=user_prefix,
        admin_prefix=admin_prefix,
        validate_responses=validate_responses,
        max_body_bytes=max_body_bytes,
        read_timeout=read_timeout,
        public_url=public_url,
        store_url=store_url,
        control_token=control_token,
        slow_path=slow_path,
        webhook_urls=webhook_urls,
        webhook_retry_base=webhook_retry_base,
        webhook_attempts=webhook_attempts,
        strict=strict,
        allow_remote_refs=allow_remote_refs,
        infer=infer_extensions,
    )
    try:
        app = build_app(config)
    except DocumentError as exc:
        sock.close()
        raise CannotStart(str(exc)) from None
    except (FixtureError, ValueError) as exc:
        sock.close()
        raise click.ClickException(str(exc)) from exc

    def announce() -> None:
        elapsed = time.perf_counter() - started
        _banner(app.server.specs, api, public_url, user_prefix, admin_prefix, elapsed)
        _report(app.server.specs, app.problems)

    if workers > 1:
        # Each worker builds its own app on the shared store and serves the bound socket; this
        # process only supervises (each worker answers once its app is built: see /__mock/health).
        app.server.store.close()
        os.environ[CONFIG_ENV] = config.to_env()
        announce()
        serve_workers(server, WORKER_FACTORY, workers, sock, log_level, read_timeout_s=read_timeout)
        return
    freeze_startup_objects()
    serve_app(
        server,
        app,
        sock,
        log_level,
        announce,
        read_timeout_s=read_timeout,
        on_stop=app.reads.stop,
    )


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listening_socket(host: str, port: int, fd: int | None) -> socket.socket:
    if fd is not None:
        return socket.socket(fileno=fd)
    try:
        return bind(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CannotBind(CANNOT_BIND.format(host=host, port=port, reason=reason)) from exc


def _detach(
    sock: socket.socket,
    host: str,
    control_token: str | None,
    ready_timeout: float,
    log_file: Path | None,
) -> None:
    """Start this same command in the background on `sock`; return once it reports ready."""
    context = click.get_current_context()
    args = _command_line(context.command, context.params)
    env = dict(os.environ)
    if control_token:
        env[CONTROL_TOKEN_ENV] = control_token  # not on the command line, where `ps` shows it
    log = log_file.open("ab") if log_file else None
    logged_before = log.tell() if log else 0
    try:
        with sock:
            process = subprocess.Popen(
                [sys.executable, "-m", "mockserver", "serve", *args, "--fd", str(sock.fileno())],
                pass_fds=(sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log or subprocess.DEVNULL,  # never the caller's: `$(...)` would wait
                stderr=log,  # None: this terminal's stderr
                env=env,
                start_new_session=True,
            )
            url = f"http://{_reachable(host)}:{bound_port(sock)}"
    finally:
        if log is not None:
            log.close()

    def still_starting() -> str | None:
        code = process.poll()
        return None if code is None else EXITED_EARLY.format(code=code)

    try:
        wait_ready(url, ready_timeout, still_starting)
    except NotReady as exc:
        if process.poll() is None:
            process.terminate()
            process.wait()
        raise click.ClickException(str(exc)) from exc
    if log_file is None:  # the server printed its banner on this terminal's stderr
        click.echo(DETACHED.format(pid=process.pid), err=True)
    else:  # it printed it to the log: show it here too
        with log_file.open("rb") as written:
            written.seek(logged_before)
            click.echo(written.read().decode(errors="replace"), err=True, nl=False)
        click.echo(DETACHED_LOG.format(pid=process.pid, log=log_file), err=True)
    click.echo(process.pid)


def _webhook_urls(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(check_webhook_url(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _command_line(command: click.Command, params: Mapping[str, Any]) -> list[str]:
    """The options that reproduce `params` (without the ones only `--detach` itself reads)."""
    words: list[str] = []
    for param in command.params:
        value = params.get(param.name or "")
        if not isinstance(param, click.Option) or param.name in _DETACH_OPTIONS:
            continue
        if param.is_flag and param.secondary_opts:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.is_flag:
            words += [param.opts[0]] if value else []
        elif param.multiple:
            words += [word for item in value or () for word in (param.opts[0], str(item))]
        elif value is not None:
            words += [param.opts[0], str(value)]
    return words


@main.command()
@click.argument("url")
@_wait_option("--timeout", "Seconds to wait.")
def wait(url: str, timeout: float) -> None:
    """Wait until the mock at URL (e.g. http://127.0.0.1:8080) is ready; exit 1 if it is not."""
    try:
        wait_ready(url, timeout)
    except NotReady as exc:
        raise click.ClickException(str(exc)) from exc


def _reachable(host: str) -> str:
    """The host to put in links: a wildcard bind address is reached through loopback."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _banner(
    specs: Mapping[str, ApiSpec],
    api: str | None,
    root: str,
    user_prefix: str,
    admin_prefix: str,
    elapsed: float,
) -> None:
    table = Table(title=f"kyc-contracts mock, ready in {elapsed:.2f}s", title_justify="left")
    table.add_column("API")
    table.add_column("Base URL", no_wrap=True)  # whole, to copy (docs: the base URL + /ui/)
    table.add_column("Mode")
    for name, spec in specs.items():
        if api and name != api:
            continue
        base = f"{root}{'' if api else '/' + name}{spec.base_path}"
        mode = "stateful" if spec.stateful else f"stateless (OpenAPI {spec.source_version})"
        table.add_row(name, base, mode)
    console.print(table)
    console.print("Interactive docs: <base URL>/ui/")
    console.print(
        f"Keys: [bold]{user_prefix}<name>[/] opens sandbox <name>; [bold]{admin_prefix}<name>[/] "
        "the same sandbox with admin operations. Send one as:"
    )
    shown = {name: spec for name, spec in specs.items() if not api or name == api}
    for how, names in key_hints(shown, f"{user_prefix}<name>").items():
        console.print(f"  {', '.join(names)}: {how}", markup=False, highlight=False)
    aliases = sorted({token for spec in specs.values() for token in spec.tokens})
    if aliases:
        console.print(f"Docs placeholders (sandbox 'docs'): {', '.join(aliases)}")
    console.print(
        f"Control plane: {root}/__mock/ui/  (reset, fixtures, snapshots, clock, log, webhooks)"
    )
    console.print(f"Health: {root}/__mock/health")


def _report(specs: Mapping[str, ApiSpec], problems: tuple[DocumentError, ...]) -> None:
    """What the banner cannot show in a row: stateless APIs and documents not served."""
    stateless = [name for name, spec in specs.items() if not spec.stateful]
    if stateless:
        console.print(STATELESS_NOTE.format(names=", ".join(stateless), how=MAKE_STATEFUL))
    for name, spec in specs.items():
        for note in spec.notes:
            console.print(f"{name}: {note}", markup=False, highlight=False)
    if problems:
        console.print(NOT_SERVED.format(count=len(problems)), style="bold red")
        for problem in problems:
            console.print(f"  {problem}", markup=False, highlight=False)


@main.command("infer")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--allow-remote-refs", is_flag=True, help="Fetch $refs to http(s) URLs (refused by default)."
)
def infer_command(spec: Path, allow_remote_refs: bool) -> None:
    """Print the x- extensions REST conventions imply for a plain document, to review and paste.

    `mockserver serve --infer` applies them at start-up. Exit 0 when they cover every
    operation, 1 when some are missing (listed at the end), 2 when the document cannot be read.
    """
    try:
        document = read_openapi(spec, allow_remote_refs=allow_remote_refs).content
    except DocumentError as exc:
        raise CannotStart(str(exc)) from None
    if not is_plain(document):
        raise click.ClickException(ALREADY_DECLARED.format(spec=spec))
    inference = infer(document)
    click.echo(inference.as_yaml(), nl=False)
    if inference.gaps:
        sys.exit(1)
