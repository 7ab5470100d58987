"""Announce flags and fine-tune requests: signed webhooks and e-mail, every attempt logged.

- :func:`check_webhook_url` refuses what is not http(s), and URLs of the service itself
  (a webhook pointed back at the service would let an admin make it call its own API).
- :func:`sign` is the ``X-MLK-Signature-256`` header: ``sha256=`` + HMAC-SHA256 of the raw
  body with the webhook's secret, as GitHub signs its deliveries. Receivers recompute it
  over the bytes they got and compare in constant time.
- :class:`Notifier` delivers each event in a thread of its own (the caller never waits on a
  receiver), to every webhook with retries and a doubling backoff (a 4xx other than 408/429
  is final), and to the configured mailbox over SMTP (STARTTLS, login). Every attempt is a
  row of ``notification_deliveries``; an event lost to a process exit mid-retry stays
  visible there as attempts that never succeeded.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from mlrun_kernel.evaluations.errors import InvalidSetting, NotFound
from mlrun_kernel.evaluations.records import DeliveryInfo, WebhookInfo, delivery_info, webhook_info
from mlrun_kernel.evaluations.settings import EvaluationSettings
from mlrun_kernel.store import Store
from mlrun_kernel.store.models import EvaluationWebhook, NotificationDelivery
from mlrun_kernel.store.types import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-MLK-Signature-256"
EVENT_HEADER = "X-MLK-Event"
DELIVERY_HEADER = "X-MLK-Delivery"
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
    """Delivers events to the stored webhooks and the configured mailbox, in the background."""

    def __init__(
        self,
        store: Store,
        settings: EvaluationSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._sleep = sleep
        self._transport = transport
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def publish(self, event: str, payload: dict[str, Any], *, request_id: str | None = None) -> str:
        """Start delivering ``event``; its id (``X-MLK-Delivery``). Returns at once."""
        event_id = secrets.token_hex(8)
        body = {"id": event_id, "event": event, "at": utcnow().isoformat(), **payload}
        thread = threading.Thread(
            target=self._deliver,
            args=(event_id, event, body, request_id),
            name=f"mlk-notify-{event_id}",
            daemon=True,
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return event_id

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait for deliveries under way (tests, the CLI before it exits); True when all ended."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    # ---------------------------------------------------------------- delivery

    def _deliver(self, event_id: str, event: str, body: dict[str, Any], request_id: str | None) -> None:
        try:
            with self.store.session() as s:
                hooks = [(w.url, w.secret) for w in s.scalars(select(EvaluationWebhook))]
            raw = json.dumps(body, default=str, sort_keys=True).encode()
            for url, secret in hooks:
                self._webhook(event_id, event, request_id, url, secret, raw)
            if self.settings.smtp_host and self.settings.mail_recipients:
                self._email(event_id, event, request_id, body)
        except Exception:  # a thread's last line: say what failed in the log
            log.exception("delivering %s %s failed", event, event_id)

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

    def _webhook(
        self, event_id: str, event: str, request_id: str | None, url: str, secret: str, raw: bytes
    ) -> None:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mlrun-kernel-webhooks",
            EVENT_HEADER: event,
            DELIVERY_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, raw),
        }
        wait = self.settings.eval_webhook_backoff_seconds
        attempts = self.settings.eval_webhook_attempts
        with httpx.Client(
            timeout=self.settings.eval_webhook_timeout_seconds, transport=self._transport
        ) as http:
            for attempt in range(1, attempts + 1):
                status: int | None = None
                error: str | None = None
                try:
                    response = http.post(url, content=raw, headers=headers)
                    status = response.status_code
                    if response.is_success:
                        self._log(event_id, event, request_id, "webhook", url, attempt, True, status)
                        return
                    error = f"answered {status}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                self._log(event_id, event, request_id, "webhook", url, attempt, False, status, error)
                final = status is not None and 400 <= status < 500 and status not in (408, 429)
                if final or attempt == attempts:
                    log.warning("webhook %s gave up on %s after %d attempts: %s", url, event, attempt, error)
                    return
                self._sleep(wait)
                wait *= 2

    def _email(self, event_id: str, event: str, request_id: str | None, body: dict[str, Any]) -> None:
        cfg = self.settings
        subject, text = _text(event, body)
        message = EmailMessage()
        message["From"] = cfg.smtp_from
        message["To"] = ", ".join(cfg.mail_recipients)
        message["Subject"] = subject
        message["X-MLK-Event"] = event
        message.set_content(text)
        target = f"smtp://{cfg.smtp_host}:{cfg.smtp_port} -> {', '.join(cfg.mail_recipients)}"
        wait = cfg.eval_webhook_backoff_seconds
        for attempt in range(1, cfg.eval_webhook_attempts + 1):
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
                self._log(event_id, event, request_id, "email", target, attempt, True)
                return
            except (OSError, smtplib.SMTPException) as exc:
                self._log(
                    event_id,
                    event,
                    request_id,
                    "email",
                    target,
                    attempt,
                    False,
                    error=f"{type(exc).__name__}: {exc}",
                )
                if isinstance(exc, smtplib.SMTPAuthenticationError) or attempt == cfg.eval_webhook_attempts:
                    log.warning("e-mail of %s gave up after %d attempts: %s", event, attempt, exc)
                    return
                self._sleep(wait)
                wait *= 2
