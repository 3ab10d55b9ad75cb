"""`reply.requested/1`: send the reply once on its channel, and say what happened.

    rate gate closed for the account       -> retrying (at the reset time), no request made
    claim the send-attempt row             -> sent already: announce `sent` again, done
                                           -> another worker is sending it: look again soon
    publish `sending`, send
      Delivered                            -> record, publish `sent` with the provider's id
      RateLimited / TransientFailure       -> record, publish `retrying` with the next time,
                                              delay queue (the reset time, or the ladder)
      PermanentFailure                     -> record, publish `failed`, dead-letter (replayable)
    attempts exhausted                     -> `failed`, dead-letter

The row is written before the request leaves, so a redelivered job never sends a reply the
provider accepted and we recorded. See the README for the one window this cannot close.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from notifier.delivery_errors import (
    Delivered,
    PermanentFailure,
    RateLimited,
    TransientFailure,
)
from notifier.guard import Action
from notifier.rate_gate import RateGate
from notifier.repository import AttemptRepository, Claim
from notifier.senders import Sender
from notifier.status import status_event
from switchboard_shared.consumer import ConsumedEvent, choose_delay
from switchboard_shared.errors import PermanentError, PublishError, RetryableError
from switchboard_shared.publisher import Publisher

log = logging.getLogger(__name__)

# A duplicate job meeting a send in progress looks again after this long.
BUSY_WAIT = timedelta(seconds=1)


class ReplyRequestedHandler:
    """Send one reply per job, guarded by the send-attempt row; publish its statuses."""

    def __init__(
        self,
        senders: Mapping[str, Sender],
        attempts: AttemptRepository,
        publisher: Publisher,
        gate: RateGate,
        max_attempts: int,
        unrecorded: dict[str, Delivered] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.senders = senders
        self.attempts = attempts
        self.publisher = publisher
        self.gate = gate
        self.max_attempts = max_attempts
        # Sends the provider accepted but the database did not hear of (shared per process).
        self.unrecorded = {} if unrecorded is None else unrecorded
        self.now = now

    def handle(self, event: ConsumedEvent) -> None:
        """Send the reply in `event` unless it was sent already; raise to retry or fail."""
        reply = event.payload
        sender = self.senders.get(reply["channel"])
        if sender is None:
            raise PermanentError(f"this notifier does not send on {reply['channel']}")
        if reply["reply_id"] in self.unrecorded:
            self._record_sent(event, self.unrecorded[reply["reply_id"]], False)
            return
        key = sender.rate_key(reply)
        reset = self.gate.closed_until(key, self.now())
        if reset is not None:
            self._retry(event, RateLimited(f"waiting for the rate limit to reset ({key})", reset))
        claim = self.attempts.claim(reply["reply_id"], reply["channel"], reply["inbox"])
        if claim.action is Action.ANNOUNCE:
            log.info("reply %s was sent already: announcing it again", reply["reply_id"])
            self._publish(
                event,
                "sent",
                external_ids=(claim.row.provider_message_id,),
                possible_duplicate=claim.decision.possible_duplicate,
            )
            return
        if claim.action is Action.BUSY:
            raise RetryableError("another worker is sending this reply", self.now() + BUSY_WAIT)
        self._send(event, sender, key, claim)

    def _send(self, event: ConsumedEvent, sender: Sender, key: str, claim: Claim) -> None:
        reply = event.payload
        flagged = claim.decision.possible_duplicate
        try:
            self._publish(event, "sending", attempt=claim.attempt, possible_duplicate=flagged)
        except RetryableError as exc:
            self.attempts.record_retry(reply["reply_id"], exc.reason, False, None)
            raise
        try:
            delivered = sender.send(reply)
        except RateLimited as exc:
            until = exc.not_before or self._next_attempt_at(event, None)
            self.gate.close(key, until)
            self._retry(event, exc, claimed=True)
        except TransientFailure as exc:
            self._retry(event, exc, claimed=True)
        except PermanentFailure as exc:
            self.attempts.record_failed(reply["reply_id"], exc.reason)
            self._publish(event, "failed", reason=exc.reason, attempt=claim.attempt)
            raise PermanentError(exc.reason) from None
        except BaseException:
            # A bug or an interruption mid-send: the provider may have the reply.
            self.attempts.record_retry(reply["reply_id"], "unexpected error", True, None)
            raise
        if delivered.quota_reset is not None:
            self.gate.close(key, delivered.quota_reset)
        self._record_sent(event, delivered, flagged)

    def _record_sent(self, event: ConsumedEvent, delivered: Delivered, flagged: bool) -> None:
        reply_id = event.payload["reply_id"]
        try:
            self.attempts.record_sent(reply_id, delivered.provider_message_id, delivered.detail)
        except Exception as exc:
            # Keep the fact in memory: the retried job records it instead of sending again.
            self.unrecorded[reply_id] = delivered
            log.error("reply %s was sent but could not be recorded: %r", reply_id, exc)
            raise RetryableError(f"sent, but not yet recorded: {exc}") from None
        self.unrecorded.pop(reply_id, None)
        self._publish(
            event,
            "sent",
            external_ids=(delivered.provider_message_id,),
            reason=delivered.detail,
            possible_duplicate=flagged,
        )

    def _retry(
        self, event: ConsumedEvent, failure: TransientFailure, claimed: bool = False
    ) -> None:
        """Publish `retrying` (or `failed` when out of attempts) and raise for the consumer."""
        reply_id = event.payload["reply_id"]
        not_before = failure.not_before if isinstance(failure, RateLimited) else None
        attempt = event.attempt + 1
        if attempt >= self.max_attempts:
            reason = f"gave up after {attempt} attempts: {failure.reason}"
            if claimed:
                self.attempts.record_failed(reply_id, reason)
            self._publish(event, "failed", reason=reason, attempt=attempt)
            raise PermanentError(reason)
        next_at = self._next_attempt_at(event, not_before)
        if claimed:
            self.attempts.record_retry(reply_id, failure.reason, failure.maybe_delivered, next_at)
        log.info("reply %s: %s; next attempt at %s", reply_id, failure.reason, next_at)
        self._publish(
            event, "retrying", reason=failure.reason, next_attempt_at=next_at, attempt=attempt
        )
        raise RetryableError(failure.reason, not_before)

    def _next_attempt_at(self, event: ConsumedEvent, not_before: datetime | None) -> datetime:
        """When the delay queue the consumer will choose hands the job back."""
        delay = choose_delay(event.attempt + 1, not_before)
        return self.now() + timedelta(seconds=delay)

    def _publish(self, event: ConsumedEvent, status: str, **fields) -> None:
        """Publish a status; an unconfirmed one retries the job (which then re-announces)."""
        try:
            self.publisher.publish(
                status_event(event.payload, status, self.now(), event.trace_id or None, **fields)
            )
        except PublishError as exc:
            raise RetryableError(
                f"could not publish delivery.status {status}: {exc.reason}"
            ) from None
