"""The assembled mock: specs, engines, token policies and the start-up state."""

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kycspec.model import ApiSpec
from mockserver.engine import Engine
from mockserver.fixtures import FixtureError, FixtureRecord
from mockserver.outbox import Outbox, RetryPolicy
from mockserver.sandbox import Caller, TokenPolicy
from mockserver.store import Store, StoreConflict

DOCS_SANDBOX = "docs"


@dataclass
class MockServer:
    """Everything the APIs and the control plane share.

    `baseline` is the start-up state (the specs' `docs` fixtures and any `--fixtures` file); a
    reset brings a sandbox back to it. It is loaded at start only into a store never set up
    before: a file or Redis store that kept state from an earlier run keeps that state, and
    of several processes sharing a store only the first loads it.
    `ready` is true while the server accepts requests for every API (from start-up until
    shutdown).
    `webhook_urls` (`--webhook-url`) receive every sandbox's webhook events; `retry` says when
    a failed delivery is tried again.
    """

    specs: Mapping[str, ApiSpec]
    store: Store
    policy: TokenPolicy = field(default_factory=TokenPolicy)
    baseline: list[FixtureRecord] = field(default_factory=list)
    webhook_urls: tuple[str, ...] = ()
    retry: RetryPolicy | None = None
    engines: dict[str, Engine] = field(init=False)
    outbox: Outbox = field(init=False)
    ready: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.engines = {
            name: Engine(spec, self.store, self.policy.admin_prefix)
            for name, spec in self.specs.items()
        }
        self.outbox = Outbox(
            self.store, dict(self.specs), urls=self.webhook_urls, policy=self.retry
        )
        for engine in self.engines.values():
            engine.outbox = self.outbox
        self.baseline = [*self.docs_fixtures(), *self.baseline]
        if self.store.claim_baseline():
            self.load(self.baseline)

    def policy_for(self, api: str) -> TokenPolicy:
        """The token policy of one API: the common rules plus the spec's own token aliases."""
        spec = self.specs[api]
        aliases = {**self.policy.aliases, **spec.tokens}
        credentials = tuple(spec.credentials.values())
        return TokenPolicy(self.policy.user_prefix, self.policy.admin_prefix, aliases, credentials)

    def policy_for_all(self) -> TokenPolicy:
        """The common rules plus every spec's token aliases (a token valid for some API)."""
        aliases = dict(self.policy.aliases)
        for spec in self.specs.values():
            aliases.update(spec.tokens)
        return TokenPolicy(self.policy.user_prefix, self.policy.admin_prefix, aliases)

    def docs_fixtures(self) -> list[FixtureRecord]:
        return [
            FixtureRecord(
                DOCS_SANDBOX,
                name,
                f.resource,
                dict(f.record),
                dict(f.partition),
                origin=f"spec {name} x-sandbox.fixtures[{number}]",
            )
            for name, spec in self.specs.items()
            for number, f in enumerate(spec.fixtures)
        ]

    def load(
        self, records: Iterable[FixtureRecord], *, resetting: Iterable[str | None] = ()
    ) -> list[FixtureRecord]:
        """Store fixture records as creates in their sandboxes would (server fields completed,
        with the sandbox's user token as the caller), all or none; returns them as stored. The
        sandboxes named in `resetting` (None: every sandbox) are reset first, once every
        record is known to be valid.

        Raises `FixtureError` naming the record's origin and the field at fault; nothing
        changes then.
        """
        stored = []
        commits = []
        for item in records:
            where = f"{item.origin}: " if item.origin else ""
            engine = self.engines.get(item.api)
            if engine is None:
                known = ", ".join(self.engines)
                raise FixtureError(f"{where}no API named {item.api!r} ({known})")
            caller = Caller(self.policy.user_prefix + item.sandbox, item.sandbox, admin=False)
            try:
                record, commit = engine.seed(caller, item.resource, item.record, item.partition)
            except FixtureError as exc:
                raise FixtureError(f"{where}{exc}") from exc
            commits.append(commit)
            stored.append(
                FixtureRecord(item.sandbox, item.api, item.resource, record, item.partition)
            )
        for name in resetting:
            self.store.reset(name)
        for commit in commits:
            commit()
        return stored

    def reset(self, sandbox: str | None = None) -> None:
        """Back to the start-up state: one sandbox, or all of them."""
        baseline = [r for r in self.baseline if sandbox is None or r.sandbox == sandbox]
        # Webhook subscriptions are the integrator's settings, not sandbox data: kept.
        kept = self.outbox.registered([sandbox] if sandbox else self.store.sandboxes())
        self.load(baseline, resetting=[sandbox])
        self.outbox.restore_subscriptions(kept)

    def sweep(self, sandbox: str | None = None) -> None:
        """Apply the due clock transitions of one sandbox, or of every one with webhook
        subscribers, for the APIs with webhooks (the others, and the other sandboxes, apply
        theirs when a request reads the records). A record another process moved first is
        left to it."""
        engines = [e for e in self.engines.values() if e.spec.webhooks is not None]
        names = [sandbox] if sandbox is not None else self.outbox.active()
        for name in names if engines else ():
            for engine in engines:
                with contextlib.suppress(StoreConflict):
                    engine.sweep(name)

    def export(self, sandbox: str | None = None) -> list[FixtureRecord]:
        names = [sandbox] if sandbox is not None else self.store.sandboxes()
        return [
            FixtureRecord(name, api, resource, record, dict(partition))
            for name in names
            for api, engine in self.engines.items()
            for resource, partition, record in engine.export(name)
        ]

    def replace(self, records: list[FixtureRecord]) -> list[FixtureRecord]:
        """Replace every sandbox named in the records with exactly those records."""
        return self.load(records, resetting=dict.fromkeys(r.sandbox for r in records))
