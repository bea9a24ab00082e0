"""The webhook outbox: subscriptions, signing secrets, and one delivery record per event and
subscriber, kept in the store so deliveries survive a restart and are shared by processes.

Per sandbox, in collections of the reserved API name `WEBHOOKS` (never an API's own):

- `subscriptions`: `{id, url, events, apis, created_at}` registered on the control plane (the
  `--webhook-url` ones are configuration, not state, and apply to every sandbox);
- `deliveries`: `{id, event_id, event, api, resource, record_id, subscription, url, body,
  created_at, state, reason, attempts, failures, next_attempt_at, lease_until, order_key}`.
  `state` is `pending`, `delivered` or `failed`; `reason` says why a delivery failed without
  an attempt (its subscription was deleted); `failures` counts the failed attempts of the
  current retry schedule (a redelivery starts a new one); times of attempts are real time
  (RFC 3339, and Unix seconds for `next_attempt_at` and `lease_until`); `created_at` is the
  sandbox clock.

A delivery is written when the change that emits it is committed (`entered`), so a refused or
rolled-back request emits nothing. `mockserver.delivery` sends them.
"""

import contextlib
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson

from kycspec import signature
from kycspec.expressions import Context, format_time
from kycspec.idformat import generate_id
from kycspec.model import ApiSpec, Resource
from kycspec.types import JSONObject
from kycspec.webhooks import WebhookEvent
from mockserver.store import Collection, CollectionKey, Store, StoreConflict

WEBHOOKS = "__webhooks"
DELIVERIES: CollectionKey = (WEBHOOKS, "deliveries", ())
SUBSCRIPTIONS: CollectionKey = (WEBHOOKS, "subscriptions", ())
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SCAN_LIMIT = 1000  # pending deliveries looked at per sandbox and pass
KEPT_DELIVERIES = 1000  # per sandbox; older finished ones are dropped
KEPT_ATTEMPTS = 50  # per delivery, the newest
RESCAN_S = 5.0  # how often every sandbox is looked at for subscriptions other processes made
SECRET_KEY = b"kyc-contracts webhook signing secret"
CLI_SUBSCRIPTION = "cli_{number}"
DEFAULT_SIGNATURE_HEADER = "Webhook-Signature"
NOT_A_WEBHOOK_URL = (
    "{url!r} is not an absolute http(s) URL to deliver webhooks to "
    "(for example http://127.0.0.1:9000/webhooks): {reason}"
)
NOT_HTTP = "the scheme must be http or https, with a host"
WHITESPACE_OR_CONTROL = "it holds a space or a control character (percent-encode it)"
BAD_PORT = "the port must be 1 to 65535"
SUBSCRIPTION_DELETED = "cancelled: subscription {id!r} was deleted"


class SubscriptionGone(LookupError):
    """A delivery cannot be sent again: its subscription was deleted."""


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again: after `base_delay_s` * 2^(n-1) seconds for the
    n-th failure (at most `max_delay_s`), until `max_attempts` attempts were made.

    A 2xx answer delivers; a 5xx, 408 or 429 answer, a timeout (`timeout_s`) or a refused
    connection is a failure worth a retry; any other answer fails the delivery at once.
    """

    base_delay_s: float = 1.0
    max_delay_s: float = 600.0
    max_attempts: int = 8
    timeout_s: float = 5.0

    def delay(self, failures: int) -> float:
        return float(min(self.base_delay_s * 2 ** (failures - 1), self.max_delay_s))

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is left to the process that claimed it."""
        return self.timeout_s + 5.0


def signing_secret(sandbox: str) -> str:
    """The sandbox's signing secret: `whsec_` and 32 hex digits, stable for the sandbox name
    (so every process, and every restart, signs alike)."""
    digest = hmac.new(SECRET_KEY, sandbox.encode(), hashlib.sha256).hexdigest()
    return f"whsec_{digest[:32]}"


def check_webhook_url(url: str) -> str:
    """The URL, when the delivery worker can send to it: parsed by httpx (as sending does),
    absolute http(s) with a host, no whitespace or control character (RFC 3986 section 2
    allows neither unencoded), a port of 1 to 65535 (RFC 6335 section 6). Raises `ValueError`
    (`NOT_A_WEBHOOK_URL`, with the reason)."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError(NOT_A_WEBHOOK_URL.format(url=url, reason=WHITESPACE_OR_CONTROL))
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(NOT_A_WEBHOOK_URL.format(url=url, reason=exc)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(NOT_A_WEBHOOK_URL.format(url=url, reason=NOT_HTTP))
    if parsed.port is not None and not 0 < parsed.port <= 65535:
        raise ValueError(NOT_A_WEBHOOK_URL.format(url=url, reason=BAD_PORT))
    return url


def _real_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Outbox:
    """Subscriptions and deliveries of every sandbox, in `store`.

    `urls` are the `--webhook-url` subscribers of every sandbox. `wake` is called after a
    delivery is written (the worker sets it, to send at once).
    """

    def __init__(
        self,
        store: Store,
        specs: dict[str, ApiSpec],
        *,
        urls: tuple[str, ...] = (),
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.specs = specs
        self.urls = urls
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.wake: Callable[[], None] = lambda: None
        self._subscribed: set[str] = set()  # sandboxes seen with a subscription
        self._scanned_at = float("-inf")
        self._next_due: float | None = None

    # -- subscriptions --------------------------------------------------------------------

    def _subscriptions(self, sandbox: str) -> Collection:
        return self.store.collection(sandbox, SUBSCRIPTIONS, "id", ())

    def subscriptions(self, sandbox: str) -> list[JSONObject]:
        """The `--webhook-url` subscribers, then those registered, oldest first."""
        registered = list(self._subscriptions(sandbox))
        if not self.urls:
            return registered
        configured = [
            {
                "id": CLI_SUBSCRIPTION.format(number=n),
                "url": url,
                "events": None,
                "apis": None,
                "created_at": None,
            }
            for n, url in enumerate(self.urls)
        ]
        return [*configured, *registered]

    def active(self) -> list[str]:
        """The sandboxes whose changes may have subscribers: every one with `--webhook-url`s,
        else those with a subscription (looked up in every sandbox at most every `RESCAN_S`
        seconds, as another process may have made one; this process's own count at once)."""
        if self.urls:
            return self.store.sandboxes()
        now = self.clock()
        if now - self._scanned_at >= RESCAN_S:
            self._scanned_at = now
            self._subscribed = {s for s in self.store.sandboxes() if len(self._subscriptions(s))}
        return sorted(self._subscribed)

    def subscribe(
        self, sandbox: str, url: str, events: list[str] | None, apis: list[str] | None = None
    ) -> JSONObject:
        """A new subscriber of the sandbox: every event, or only the named `events` of the
        named `apis` (None: no filter)."""
        subscription = {
            "id": generate_id("whs_{lower:16}"),
            "url": url,
            "events": events,
            "apis": apis,
            "created_at": _real_now(),
        }
        self._subscriptions(sandbox).insert(subscription)
        self._subscribed.add(sandbox)
        return subscription

    def unsubscribe(self, sandbox: str, subscription_id: str) -> bool:
        """Delete the subscription, and cancel its pending deliveries (failed, with the
        reason `SUBSCRIPTION_DELETED`), as Stripe stops sending to a deleted endpoint.
        False when there is no such subscription."""
        if self._subscriptions(sandbox).delete(subscription_id) is None:
            return False
        deliveries = self._deliveries(sandbox)
        pending, _ = deliveries.page([("state", "eq", PENDING)], KEPT_DELIVERIES)
        reason = SUBSCRIPTION_DELETED.format(id=subscription_id)
        for delivery in pending:
            if delivery["subscription"] == subscription_id:
                cancelled = {**delivery, "state": FAILED, "reason": reason, "next_attempt_at": None}
                with contextlib.suppress(StoreConflict):  # sent meanwhile: it is logged so
                    deliveries.replace(cancelled)
        return True

    def restore_subscriptions(self, kept: dict[str, list[JSONObject]]) -> None:
        """Put back subscriptions read before a sandbox reset (they are not sandbox data)."""
        for sandbox, subscriptions in kept.items():
            collection = self._subscriptions(sandbox)
            for subscription in subscriptions:
                collection.insert(subscription)
                self._subscribed.add(sandbox)

    def registered(self, sandboxes: list[str]) -> dict[str, list[JSONObject]]:
        return {name: list(self._subscriptions(name)) for name in sandboxes}

    # -- emission ---------------------------------------------------------------------------

    def entered(
        self,
        spec: ApiSpec,
        sandbox: str,
        resource: Resource,
        record: JSONObject,
        ctx: Context,
        via: str,
    ) -> None:
        """Write the deliveries of every event the change emits (`via`: `create`,
        `operation` or `clock`), one per subscriber whose `events` include it; with no
        subscriber, nothing (no event is made that no delivery would carry)."""
        webhooks = spec.webhooks
        lifecycle = resource.lifecycle
        if webhooks is None:
            return
        subscribers = self.subscriptions(sandbox)
        if not subscribers:
            return
        state = str(record.get(lifecycle.field)) if lifecycle else ""
        emitted = webhooks.emitted(resource.name, state, via)
        if not emitted:
            return
        deliveries = self._deliveries(sandbox)
        record_id = str(record.get(resource.id_field))
        for event in emitted:
            described = {
                "id": generate_id(webhooks.event_id),
                "type": event.name,
                "created": format_time(ctx.now, resource.time_format),
                "resource": resource.name,
                "state": state,
                "via": via,
            }
            own = Context(ctx.now, resource.time_format, {"record": record, "event": described})
            body = self.payload(event, own)
            order = f"{spec.name}|{resource.name}|{record_id}"
            for subscription in subscribers:
                if subscription["events"] is not None and event.name not in subscription["events"]:
                    continue
                if subscription.get("apis") is not None and spec.name not in subscription["apis"]:
                    continue
                deliveries.insert(
                    {
                        "id": generate_id("dlv_{lower:16}"),
                        "event_id": described["id"],
                        "event": event.name,
                        "api": spec.name,
                        "resource": resource.name,
                        "record_id": record_id,
                        "subscription": subscription["id"],
                        "url": subscription["url"],
                        "body": body,
                        "created_at": format_time(ctx.now, "rfc3339"),
                        "state": PENDING,
                        "reason": None,
                        "attempts": [],
                        "failures": 0,
                        "last_status": None,
                        "next_attempt_at": self.clock(),
                        "lease_until": 0.0,
                        "order_key": f"{subscription['id']}|{order}",
                    }
                )
        self._prune(deliveries)
        self.wake()

    def payload(self, event: WebhookEvent, ctx: Context) -> str:
        """The body of an event: its payload template, as JSON text (sent as it is)."""
        return orjson.dumps(event.payload(ctx)).decode()

    # -- the delivery log -------------------------------------------------------------------

    def _deliveries(self, sandbox: str) -> Collection:
        return self.store.collection(sandbox, DELIVERIES, "id", ("state",))

    def deliveries(self, sandbox: str, limit: int) -> list[JSONObject]:
        """The newest `limit` deliveries of the sandbox, newest first."""
        return self._deliveries(sandbox).page([], limit)[0]

    def delivery(self, sandbox: str, delivery_id: str) -> JSONObject | None:
        return self._deliveries(sandbox).get(delivery_id)

    def redeliver(self, sandbox: str, delivery_id: str) -> JSONObject | None:
        """Send the delivery again now, whatever its state, with a new retry schedule (its
        attempts so far are kept). None when there is no such delivery; raises
        `SubscriptionGone` when its subscription was deleted."""
        deliveries = self._deliveries(sandbox)
        found = deliveries.get(delivery_id)
        if found is None:
            return None
        if found["subscription"] not in {s["id"] for s in self.subscriptions(sandbox)}:
            raise SubscriptionGone(found["subscription"])
        again = {
            **found,
            "state": PENDING,
            "reason": None,
            "failures": 0,
            "next_attempt_at": self.clock(),
            "lease_until": 0.0,
        }
        deliveries.replace(again)
        self.wake()
        return again

    def _prune(self, deliveries: Collection) -> None:
        excess = len(deliveries) - KEPT_DELIVERIES
        if excess <= 0:
            return
        finished = [d["id"] for d in deliveries if d["state"] != PENDING][:excess]
        for delivery_id in finished:
            deliveries.delete(delivery_id)

    # -- sending ----------------------------------------------------------------------------

    def claim_due(self) -> tuple[list[tuple[str, JSONObject]], float | None]:
        """Deliveries to send now, each claimed (leased) for this process: per subscriber and
        record the oldest pending one only, so a record's events arrive in order. Also when
        (Unix seconds) the next of those not yet due will be; None when none waits."""
        claimed = list(self._claim(self.clock()))
        return claimed, self._next_due

    def _claim(self, now: float) -> Iterator[tuple[str, JSONObject]]:
        self._next_due = None
        for sandbox in self.active():
            deliveries = self._deliveries(sandbox)
            pending, _ = deliveries.page([("state", "eq", PENDING)], SCAN_LIMIT)
            waiting: set[str] = set()
            for delivery in reversed(pending):
                key = delivery["order_key"]
                if key in waiting:
                    continue
                waiting.add(key)
                if delivery["lease_until"] > now:
                    continue
                due = delivery["next_attempt_at"]
                if due > now:
                    self._next_due = due if self._next_due is None else min(due, self._next_due)
                    continue
                claimed = {**delivery, "lease_until": now + self.policy.lease_s}
                try:
                    deliveries.replace(claimed)
                except StoreConflict:
                    continue  # another process claimed it
                yield sandbox, claimed

    def record_attempt(
        self, sandbox: str, delivery_id: str, attempt: JSONObject, *, retry: bool
    ) -> JSONObject | None:
        """Log an attempt: delivered on 2xx, else pending again after the backoff while `retry`
        and attempts remain, else failed. Returns the delivery as stored."""
        deliveries = self._deliveries(sandbox)
        current = deliveries.get(delivery_id)
        if current is None:
            return None  # the sandbox was reset meanwhile
        attempts = [*current["attempts"], attempt][-KEPT_ATTEMPTS:]
        failures = current.get("failures", 0) + (0 if attempt["ok"] else 1)
        status = attempt["status"]
        if attempt["ok"]:
            state, next_at = DELIVERED, None
        elif current.get("reason"):  # cancelled while it was being sent
            state, next_at = FAILED, None
        elif retry and failures < self.policy.max_attempts:
            state, next_at = PENDING, self.clock() + self.policy.delay(failures)
        else:
            state, next_at = FAILED, None
        updated = {
            **current,
            "attempts": attempts,
            "failures": failures,
            "state": state,
            "next_attempt_at": next_at,
            "lease_until": 0.0,
            "last_status": status,
        }
        try:
            deliveries.replace(updated)
        except StoreConflict:
            return None  # redelivered meanwhile: that request wins
        return updated

    def release(self, sandbox: str, delivery_id: str, attempt: JSONObject) -> None:
        """Give up the claim on a delivery this process will not finish (it is stopping), and
        log the `attempt` it cut off; the attempt does not count against `max_attempts`."""
        deliveries = self._deliveries(sandbox)
        current = deliveries.get(delivery_id)
        if current is not None and current["state"] == PENDING:
            attempts = [*current["attempts"], attempt][-KEPT_ATTEMPTS:]
            with contextlib.suppress(StoreConflict):
                deliveries.replace({**current, "attempts": attempts, "lease_until": 0.0})

    def secret(self, sandbox: str) -> str:
        return signing_secret(sandbox)

    def signature_scheme(self, api: str) -> str:
        webhooks = self.specs[api].webhooks
        return webhooks.signature_scheme if webhooks else signature.TIMESTAMPED

    def signature_header(self, api: str) -> str:
        webhooks = self.specs[api].webhooks
        return webhooks.signature_header if webhooks else DEFAULT_SIGNATURE_HEADER
