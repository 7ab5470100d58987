"""Announce flags and fine-tune requests: signed webhooks and e-mail, every attempt logged.

- :func:`check_webhook_url` refuses what is not http(s), and URLs of the service itself
  (a webhook pointed back at the service would let an admin make it call its own API).
- :func:`sign` is the ``X-MLK-Signature-256`` header: ``sha256=`` + HMAC-SHA256 of the raw
  body with the webhook's secret, as GitHub signs its deliveries. Receivers recompute it
  over the bytes they got and compare in constant time.
- :class:`Notifier` writes each event to the outbox (``notification_outbox``, one row per
  webhook and one for the mailbox) in the same transaction as the event itself, and its
  sender thread delivers the rows: to every webhook with retries and a doubling backoff (a
  4xx other than 408/429 is final), and to the configured mailbox over SMTP (STARTTLS,
  login). A row is claimed with a lease by one ``UPDATE ... WHERE`` that one process wins,
  so two service processes never send it twice; a service killed mid-retry leaves its rows
  pending, and the next one to start sends them. Every attempt is a row of
  ``notification_deliveries``. Delivery is at least once: a process killed between a
  receiver's 2xx and marking the row done sends it again (receivers dedupe on
  ``X-MLK-Delivery``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from mlrun_kernel.evaluations.errors import InvalidSetting, NotFound
from mlrun_kernel.evaluations.records import DeliveryInfo, WebhookInfo, delivery_info, webhook_info
from mlrun_kernel.evaluations.settings import EvaluationSettings
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import EvaluationWebhook, NotificationDelivery, NotificationOutbox
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-MLK-Signature-256"
EVENT_HEADER = "X-MLK-Event"
DELIVERY_HEADER = "X-MLK-Delivery"
POLL_SECONDS = 2.0
"""How often a sender looks for rows other processes wrote (its own wake it at once)."""
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: True when ``header`` is the signature of ``body``."""
    return bool(header) and hmac.compare_digest(sign(secret, body), str(header))


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _port(parts: Any) -> int:
    return int(parts.port or (443 if parts.scheme == "https" else 80))


def points_at(url: str, own: str) -> bool:
    """Whether ``url`` reaches the service that is served at ``own`` (scheme://host:port/prefix)."""
    a, b = urlsplit(url), urlsplit(own)
    if not b.hostname:
        return False
    same_host = (a.hostname or "").lower() == b.hostname.lower() or (
        _is_loopback(a.hostname or "") and (_is_loopback(b.hostname) or b.hostname == "0.0.0.0")
    )
    if not same_host or _port(a) != _port(b):
        return False
    prefix = b.path.rstrip("/")
    return not prefix or a.path == prefix or a.path.startswith(prefix + "/")


def check_webhook_url(url: str, own_urls: Iterable[str]) -> str:
    """``url`` when it is a webhook the service may call; InvalidSetting saying why not."""
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
        _port(parts)  # a port out of range raises here, not later
    except ValueError:
        raise InvalidSetting(f"webhook URL {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(f"webhook URL {url!r} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise InvalidSetting("put no user or password in a webhook URL; its secret signs every delivery")
    for own in own_urls:
        if own and points_at(text, own):
            raise InvalidSetting(
                f"webhook URL {url!r} points at the model service itself ({own}); "
                "give the address of the system that should hear about requests"
            )
    return text


def add_webhook(
    store: Store, by: str, url: str, own_urls: Iterable[str], secret: str | None = None
) -> tuple[WebhookInfo, str]:
    """Store a webhook; (its record, its secret). The secret is shown once, here."""
    checked = check_webhook_url(url, own_urls)
    key = secret or secrets.token_urlsafe(32)
    if len(key) < 16:
        raise InvalidSetting("a webhook secret needs at least 16 characters")
    with store.session() as s:
        row = EvaluationWebhook(url=checked, secret=key, created_by=by)
        s.add(row)
        s.flush()
        return webhook_info(row), key


def list_webhooks(store: Store) -> list[WebhookInfo]:
    with store.session() as s:
        return [webhook_info(w) for w in s.scalars(select(EvaluationWebhook).order_by(EvaluationWebhook.id))]


def delete_webhook(store: Store, webhook_id: int) -> None:
    with store.session() as s:
        row = s.get(EvaluationWebhook, webhook_id)
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        s.delete(row)


def list_deliveries(store: Store, *, request_id: str | None = None, limit: int = 200) -> list[DeliveryInfo]:
    with store.session() as s:
        stmt = select(NotificationDelivery).order_by(NotificationDelivery.id.desc()).limit(limit)
        if request_id:
            stmt = stmt.where(NotificationDelivery.request_id == request_id)
        return [delivery_info(d) for d in s.scalars(stmt)]


def _text(event: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of an event's e-mail."""
    request = payload.get("request") or {}
    flag = payload.get("flag") or {}
    model = request.get("model") or flag.get("model") or "?"
    subject = f"[mlrun-kernel] {event}: {model}"
    lines = [f"Event: {event}", f"Model: {model}"]
    if request:
        lines += [
            f"Request: {request.get('id')} ({request.get('state')})",
            f"Reason: {request.get('reason')}",
        ]
        if request.get("datasets"):
            lines.append("New data: " + ", ".join(request["datasets"]))
        if request.get("comparison"):
            lines.append("Before/after:")
            for name, row in (request["comparison"].get("metrics") or {}).items():
                lines.append(f"  {name}: {row.get('before')} -> {row.get('after')}")
    if flag:
        lines.append(f"Flag: {flag.get('message')}")
    lines += ["", json.dumps(payload, indent=2, default=str)]
    return subject, "\n".join(lines)


class Notifier:
    """The outbox's writer and its sender; see the module docstring.

    ``enqueue(s, ...)`` adds an event's rows in the caller's session (the event's own
    transaction); ``publish(...)`` does it in a session of its own. The sender is one
    thread per process (``start``; ``publish`` starts it too) that claims due rows with a
    lease, makes one attempt each, and marks them done or due again after a doubling wait.
    """

    def __init__(
        self,
        store: Store,
        settings: EvaluationSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._transport = transport
        self.name = name or f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
        """Who holds a claim: this process's sender."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def lease_seconds(self) -> float:
        """How long a claim holds: longer than one attempt can take."""
        return 3 * self.settings.eval_webhook_timeout_seconds + 5

    # ---------------------------------------------------------------- the writer

    def enqueue(
        self, s: Session, event: str, payload: dict[str, Any], *, request_id: str | None = None
    ) -> str:
        """Add ``event``'s outbox rows (one per webhook, one for the mailbox) in session ``s``;
        its id (``X-MLK-Delivery``). They are sent once ``s`` commits."""
        event_id = secrets.token_hex(8)
        body = json.loads(
            json.dumps({"id": event_id, "event": event, "at": utcnow().isoformat(), **payload}, default=str)
        )
        now = utcnow()
        rows = [
            NotificationOutbox(
                event_id=event_id, event=event, request_id=request_id, channel="webhook",
                target=w.url, webhook_id=w.id, body=body, next_attempt_at=now, created_at=now,
            )
            for w in s.scalars(select(EvaluationWebhook).order_by(EvaluationWebhook.id))
        ]  # fmt: skip
        if self.settings.smtp_host and self.settings.mail_recipients:
            rows.append(
                NotificationOutbox(
                    event_id=event_id, event=event, request_id=request_id, channel="email",
                    target="mail", body=body, next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip
        s.add_all(rows)
        if rows:
            sa_event.listen(s, "after_commit", lambda _s: self.start().wake(), once=True)
        return event_id

    def publish(self, event: str, payload: dict[str, Any], *, request_id: str | None = None) -> str:
        """Write ``event`` to the outbox in a transaction of its own; returns at once."""
        with self.store.session() as s:
            return self.enqueue(s, event, payload, request_id=request_id)

    # ---------------------------------------------------------------- the sender

    def start(self) -> Notifier:
        """Start this process's sender (at service start: it resends what a dead one left)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="mlk-notify", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        """Rows still to be sent (by any process)."""
        with self.store.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(NotificationOutbox)
                    .where(NotificationOutbox.state == "pending")
                )
                or 0
            )

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until the outbox has nothing pending (tests, the CLI before it exits)."""
        self.start()
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.05)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                sent = self.deliver_due()
            except Exception:  # the sender must outlive one bad round; the log has the trace
                log.exception("the notification sender failed a round; retrying")
                sent = 0
            if not sent:
                self._wake.wait(self._next_wait())

    def _next_wait(self) -> float:
        """Until the next row is due (at most POLL_SECONDS: other processes add rows too)."""
        with self.store.session() as s:
            due = s.scalar(
                select(func.min(NotificationOutbox.next_attempt_at)).where(
                    NotificationOutbox.state == "pending"
                )
            )
        if due is None:
            return POLL_SECONDS
        return max(0.01, min(POLL_SECONDS, (due - utcnow()).total_seconds()))

    def deliver_due(self, limit: int = 50) -> int:
        """Claim and attempt each due row once; how many attempts were made."""
        now = utcnow()
        with self.store.session() as s:
            ids = list(
                s.scalars(
                    select(NotificationOutbox.id)
                    .where(
                        NotificationOutbox.state == "pending",
                        NotificationOutbox.next_attempt_at <= now,
                        or_(
                            NotificationOutbox.claimed_until.is_(None), NotificationOutbox.claimed_until < now
                        ),
                    )
                    .order_by(NotificationOutbox.id)
                    .limit(limit)
                )
            )
        made = 0
        for outbox_id in ids:
            if self._claim(outbox_id):
                self._attempt(outbox_id)
                made += 1
        return made

    def _claim(self, outbox_id: int) -> bool:
        """One UPDATE that only one process wins: the row is ours until the lease runs out."""
        now = utcnow()
        with self.store.session() as s:
            won = s.execute(
                update(NotificationOutbox)
                .where(
                    NotificationOutbox.id == outbox_id,
                    NotificationOutbox.state == "pending",
                    or_(NotificationOutbox.claimed_until.is_(None), NotificationOutbox.claimed_until < now),
                )
                .values(claimed_by=self.name, claimed_until=now + timedelta(seconds=self.lease_seconds))
                .execution_options(synchronize_session=False)
            )
            return bool(won.rowcount == 1)  # type: ignore[attr-defined]

    def _attempt(self, outbox_id: int) -> None:
        with self.store.session() as s:
            row = s.get(NotificationOutbox, outbox_id)
            assert row is not None
            channel, target, body, attempt = row.channel, row.target, row.body, row.attempts + 1
            event_id, event, request_id = row.event_id, row.event, row.request_id
            hook = s.get(EvaluationWebhook, row.webhook_id) if row.webhook_id is not None else None
            secret = hook.secret if hook is not None else None
        outcome: tuple[bool, int | None, str | None, bool]
        if channel == "webhook" and secret is None:
            outcome = (False, None, "the webhook was removed", True)
        elif channel == "webhook":
            assert secret is not None
            outcome = self._post(event_id, event, target, secret, body)
        else:
            target = self._mail_target()
            outcome = self._send_mail(event, body)
        ok, status, error, final = outcome
        self._log(event_id, event, request_id, channel, target, attempt, ok, status, error)
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempt, "claimed_by": None, "claimed_until": None}
        if ok:
            values.update(state="done", done_at=now, last_error=None)
        elif final or attempt >= self.settings.eval_webhook_attempts:
            values.update(state="failed", done_at=now, last_error=error)
            log.warning(
                "%s to %s gave up on %s after %d attempts: %s", channel, target, event, attempt, error
            )
        else:
            wait = self.settings.eval_webhook_backoff_seconds * 2 ** (attempt - 1)
            values.update(next_attempt_at=now + timedelta(seconds=wait), last_error=error)
        with self.store.session() as s:
            s.execute(
                update(NotificationOutbox)
                .where(NotificationOutbox.id == outbox_id, NotificationOutbox.claimed_by == self.name)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def _log(
        self,
        event_id: str,
        event: str,
        request_id: str | None,
        channel: str,
        target: str,
        attempt: int,
        ok: bool,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        with self.store.session() as s:
            s.add(
                NotificationDelivery(
                    event_id=event_id,
                    event=event,
                    request_id=request_id,
                    channel=channel,
                    target=target,
                    attempt=attempt,
                    ok=ok,
                    status=status,
                    error=(error or None) and error[:2000],
                )
            )

    def _post(
        self, event_id: str, event: str, url: str, secret: str, body: dict[str, Any]
    ) -> tuple[bool, int | None, str | None, bool]:
        """One webhook attempt: (ok, status, error, final); a 4xx but 408/429 is final."""
        raw = json.dumps(body, default=str, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mlrun-kernel-webhooks",
            EVENT_HEADER: event,
            DELIVERY_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, raw),
        }
        try:
            with httpx.Client(
                timeout=self.settings.eval_webhook_timeout_seconds, transport=self._transport
            ) as http:
                response = http.post(url, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}", False
        status = response.status_code
        if response.is_success:
            return True, status, None, False
        final = 400 <= status < 500 and status not in (408, 429)
        return False, status, f"answered {status}: {response.text[:200]}", final

    def _mail_target(self) -> str:
        cfg = self.settings
        return f"smtp://{cfg.smtp_host}:{cfg.smtp_port} -> {', '.join(cfg.mail_recipients)}"

    def _send_mail(self, event: str, body: dict[str, Any]) -> tuple[bool, int | None, str | None, bool]:
        """One e-mail attempt: (ok, None, error, final); a refused login is final."""
        cfg = self.settings
        if not (cfg.smtp_host and cfg.mail_recipients):
            return False, None, "no SMTP server or recipients are configured any more", True
        subject, text = _text(event, body)
        message = EmailMessage()
        message["From"] = cfg.smtp_from
        message["To"] = ", ".join(cfg.mail_recipients)
        message["Subject"] = subject
        message["X-MLK-Event"] = event
        message.set_content(text)
        try:
            with smtplib.SMTP(
                str(cfg.smtp_host), cfg.smtp_port, timeout=cfg.eval_webhook_timeout_seconds
            ) as smtp:
                smtp.ehlo()
                if cfg.smtp_starttls:
                    context = ssl.create_default_context(
                        cafile=str(cfg.smtp_ca_file) if cfg.smtp_ca_file else None
                    )
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if cfg.smtp_user:
                    smtp.login(cfg.smtp_user, cfg.smtp_password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            final = isinstance(exc, smtplib.SMTPAuthenticationError)
            return False, None, f"{type(exc).__name__}: {exc}", final
        return True, None, None, False
