"""`conformance`: run the suite against a server, or list the requirement catalogue.

Exit codes (README.md, "The conformance suite"): 0 conformant, 1 not conformant (a MUST requirement
failed or errored, or with --require-all was skipped), 2 could not run (bad arguments, unknown
API, a failed preflight, or no MUST requirement exercised).
"""

import contextlib
import os
import random
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

from conformance.limits import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WEBHOOK_WAIT_S,
)
from conformance.reporters import REPORTERS, Broadcast, Reporter
from conformance.requirements import build_catalogue
from conformance.results import RunVerdict, run_verdict
from conformance.runner import run
from conformance.settings import DEFAULT_PROFILE, PROFILES, Settings
from conformance.target import PLACEHOLDERS, Target
from kycspec.loader import SPECS_DIR, Loaded, load_directory
from kycspec.model import ApiSpec

EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_CANNOT_RUN = 2
# A run that exercised no MUST requirement (the preflight stopped it, or nothing was reached)
# gives no verdict: "could not run", never conformant.
EXIT_CODES = {
    RunVerdict.CONFORMANT: EXIT_CONFORMANT,
    RunVerdict.NOT_CONFORMANT: EXIT_NOT_CONFORMANT,
    RunVerdict.NOTHING_EXERCISED: EXIT_CANNOT_RUN,
}
UNKNOWN_API = "unknown API {api!r}; known: {known}"
SEED_NOTE = "seed {seed} (replay with --seed {seed})"
SECRET_OPTIONS = {"--" + name.replace("_", "-"): shown for name, shown in PLACEHOLDERS.items()}
MAX_SEED = 2**32
SPECS_BROKEN = "cannot load specs from {specs_dir}: {error}"
HYPOTHESIS_HOME_DEFAULT = "$XDG_CACHE_HOME/kyc-contracts/hypothesis (~/.cache/... when unset)"
NOT_A_URL = "{value!r} is not an absolute http(s) URL (for example https://host/base/path)"


NOT_HOST_PORT = "{value!r} is not HOST:PORT (for example 0.0.0.0:9000)"


def _host_port(value: str | None) -> str | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(NOT_HOST_PORT.format(value=value))
    return value


class CannotRun(click.ClickException):
    """The run could not start (a broken spec directory): exit 2, like a usage error."""

    exit_code = EXIT_CANNOT_RUN


def _url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(NOT_A_URL.format(value=value), ctx, param)
    return value


def _loaded(specs_dir: Path, infer: bool) -> Loaded:
    try:
        return load_directory(specs_dir, infer=infer)
    except Exception as exc:  # a directory without documents is a "could not run"
        raise CannotRun(SPECS_BROKEN.format(specs_dir=specs_dir, error=exc)) from exc


def _specs(specs_dir: Path, infer: bool = False) -> dict[str, ApiSpec]:
    loaded = _loaded(specs_dir, infer)
    if loaded.problems:
        problem = loaded.problems[0]
        raise CannotRun(SPECS_BROKEN.format(specs_dir=specs_dir, error=problem))
    return loaded.specs


def _spec(specs_dir: Path, api: str, infer: bool = False) -> ApiSpec:
    """The API's spec; other documents of the directory may be bad (each is its own API)."""
    loaded = _loaded(specs_dir, infer)
    if api in loaded.specs:
        return loaded.specs[api]
    broken = next((p for p in loaded.problems if Path(p.file).stem == api), None)
    if broken is not None:
        raise CannotRun(SPECS_BROKEN.format(specs_dir=specs_dir, error=broken))
    raise click.UsageError(UNKNOWN_API.format(api=api, known=", ".join(loaded.specs)))


def replay_command(params: dict[str, Any], seed: int) -> str:
    """The command line that replays a run: the same options, its seed, tokens masked."""
    words = ["conformance", "run"]
    for name, value in params.items():
        option = "--" + name.removesuffix("_path").replace("_", "-")
        if name == "seed" or value is None:
            continue
        if name == "specs_dir" and Path(value) == SPECS_DIR:
            continue
        if name == "magic":
            words.append("--magic" if value else "--no-magic")
        elif isinstance(value, bool):
            words += [option] if value else []
        elif option in SECRET_OPTIONS:
            words += [option, SECRET_OPTIONS[option]]
        elif name == "require_all":
            words += ["--require-all"] if value else []
        elif name in ("budget", "timeout", "clock_skew"):
            words += [option, f"{value:g}"]
        else:
            words += [option, str(value)]
    words += ["--seed", str(seed)]
    return " ".join(w if w in SECRET_OPTIONS.values() else shlex.quote(w) for w in words)


def default_hypothesis_dir() -> Path:
    """Where hypothesis keeps its files during a run: the user's cache, not the current
    directory (XDG Base Directory: `$XDG_CACHE_HOME`, else `~/.cache`)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "kyc-contracts" / "hypothesis"


@contextlib.contextmanager
def hypothesis_home(directory: Path) -> Iterator[None]:
    """Hypothesis' storage (its caches; the suite keeps no example database) under `directory`
    for the block; the previous location afterwards."""
    previous = storage_directory(intent_to_write=False).home_directory
    set_hypothesis_home_dir(directory)
    try:
        yield
    finally:
        set_hypothesis_home_dir(previous)


@click.group()
@click.version_option(package_name="kyc-contracts", prog_name="conformance")
def main() -> None:
    """Conformance suite for the KYC APIs in specs/."""


@main.command("run")
@click.option("--api", required=True, help="API name (a spec file in --specs-dir).")
@click.option(
    "--base-url", required=True, callback=_url, help="The spec's server URL, host swapped."
)
@click.option("--token", required=True, help="API key of the account under test.")
@click.option("--token-b", default=None, help="API key of a second account (isolation checks).")
@click.option("--admin-token", default=None, help="Admin API key of the first account.")
@click.option(
    "--control-url", default=None, callback=_url, help="The kyc-contracts mock control plane URL."
)
@click.option(
    "--control-token", default=None, help="Bearer token of the control plane (its --control-token)."
)
@click.option(
    "--sandbox",
    default=None,
    help="The control plane's sandbox behind --token (default: asked by token introspection).",
)
@click.option("--magic/--no-magic", default=False, help="The server honours x-sandbox magic.")
@click.option(
    "--webhook-receiver",
    default=None,
    callback=lambda ctx, param, value: _host_port(value),
    help="HOST:PORT the suite's webhook receiver listens on (default: a free 127.0.0.1 port); "
    "for a server elsewhere, expose it and register it with the server yourself.",
)
@click.option(
    "--webhook-secret",
    default=None,
    help="The signing secret of the server's webhooks (the mock's comes from --control-url).",
)
@click.option(
    "--webhook-wait",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_WEBHOOK_WAIT_S,
    show_default=True,
    help="Seconds to wait for a declared webhook, and for a failed delivery to be tried again.",
)
@click.option("--profile", type=click.Choice(list(PROFILES)), default=DEFAULT_PROFILE)
@click.option("--seed", type=click.IntRange(0, MAX_SEED - 1), default=None)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    help="Seconds for the whole run; unreached checks are skipped.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    help="Seconds per request, body included; an operation that times out is marked hanging.",
)
@click.option(
    "--max-response-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_RESPONSE_BYTES,
    help="Largest response body read (bytes); a larger one is cut off and fails the run.",
)
@click.option(
    "--hypothesis-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where hypothesis keeps its files (default {HYPOTHESIS_HOME_DEFAULT}).",
)
@click.option(
    "--require-all",
    is_flag=True,
    default=False,
    help="A skipped MUST requirement fails the run too (a gate that must check everything).",
)
@click.option(
    "--clock-skew",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds two server clocks may differ by when timestamps are ordered.",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--specs-dir", type=click.Path(file_okay=False, path_type=Path), default=SPECS_DIR)
@click.option(
    "--infer",
    is_flag=True,
    help="Check a plain document against the x- extensions REST conventions imply.",
)
def run_command(
    api: str,
    base_url: str,
    token: str,
    token_b: str | None,
    admin_token: str | None,
    control_url: str | None,
    control_token: str | None,
    sandbox: str | None,
    magic: bool,
    webhook_receiver: str | None,
    webhook_secret: str | None,
    webhook_wait: float,
    profile: str,
    seed: int | None,
    budget: float,
    timeout: float,
    max_response_bytes: int,
    hypothesis_dir: Path | None,
    require_all: bool,
    clock_skew: float,
    junit: Path | None,
    json_path: Path | None,
    html: Path | None,
    specs_dir: Path,
    infer: bool,
) -> None:
    """Check a server against an API's spec and lifecycle; exit 0 if it conforms."""
    spec = _spec(specs_dir, api, infer)
    if seed is None:
        seed = random.SystemRandom().randrange(MAX_SEED)
    target = Target(
        spec=spec,
        base_url=base_url,
        token=token,
        token_b=token_b,
        admin_token=admin_token,
        control_url=control_url,
        control_token=control_token,
        magic=magic,
        timeout=timeout,
        max_response_bytes=max_response_bytes,
        sandbox=sandbox,
        webhook_receiver=webhook_receiver,
        webhook_secret=webhook_secret,
        webhook_wait_s=webhook_wait,
    )
    replay = replay_command(click.get_current_context().params, seed)
    console = REPORTERS.get("console")(replay=replay)
    console.console.print(SEED_NOTE.format(seed=seed))
    reporters: list[Reporter] = [console]
    for name, path in (("junit", junit), ("json", json_path), ("html", html)):
        if path is not None:
            reporters.append(REPORTERS.get(name)(path, replay=replay))
    emit = Broadcast(reporters)
    settings = Settings(
        PROFILES[profile], seed, budget, require_all=require_all, clock_skew_s=clock_skew
    )
    try:
        with hypothesis_home(hypothesis_dir or default_hypothesis_dir()):
            results = run(target, settings, emit)
    finally:
        emit.shutdown()
    sys.exit(EXIT_CODES[run_verdict(results, require_all=require_all)])


@main.command("requirements")
@click.option("--api", default=None, help="Only this API (default: every API).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text")
@click.option("--specs-dir", type=click.Path(file_okay=False, path_type=Path), default=SPECS_DIR)
def requirements_command(api: str | None, fmt: str, specs_dir: Path) -> None:
    """List the requirement catalogue, one line per requirement."""
    specs = {api: _spec(specs_dir, api)} if api else _specs(specs_dir)
    click.echo(catalogue_text(specs, fmt), nl=False)


def catalogue_text(specs: dict[str, ApiSpec], fmt: str = "text") -> str:
    """The catalogue of the given APIs as plain text or as a Markdown document."""
    lines: list[str] = []
    if fmt == "markdown":
        lines += [
            "# Requirements",
            "",
            "Generated by `conformance requirements --format markdown`; do not edit by hand.",
            "Every check the conformance suite makes, by stable ID. A requirement passes only",
            "when the case that discriminates it happened (on every operation, resource or",
            "outcome it is about); otherwise it is skipped as not exercised, never passed.",
            "Timestamp order allows the run's `--clock-skew` (default 1 s).",
        ]
    for name, spec in specs.items():
        catalogue = build_catalogue(spec)
        if fmt == "markdown":
            lines += ["", f"## {spec.title} (`{name}`)", ""]
            lines += ["| ID | Level | Layer | Requirement | Source |", "|---|---|---|---|---|"]
            lines += [
                f"| `{r.id}` | {r.level} | {r.layer} | {_cell(r.statement)} | {_cell(r.source)} |"
                for r in catalogue
            ]
        else:
            lines += [f"{r.id}\t{r.level}\t{r.layer}\t{r.statement}" for r in catalogue]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
