"""Push delivery for `gcf dev`: done here, from pull subscriptions, not by the Pub/Sub emulator.

Google's Pub/Sub emulator (0.8.x) loses pushed messages: with a short retry backoff
(PUBSUB_MIN_RETRY_DELAY=1s, PUBSUB_MAX_RETRY_DELAY=1s) and several messages failing
together, it delivers each about 3 times and then drops it, neither acknowledged nor
dead-lettered. So each function's subscription is a pull subscription of the emulator,
which only keeps the messages, and a `Pusher` delivers them as Pub/Sub push does:

- it posts the push request (`{"message", "subscription", "deliveryAttempt"}`) to the
  function's path on the local server, and acknowledges the message on a 2xx answer;
- it retries a failure with exponential backoff between the subscription's minimum and
  maximum delays (10 s to 600 s, as deployed, or PUBSUB_MIN/MAX_RETRY_DELAY; at most 570 s
  locally, within the 600 s lease the emulator grants);
- after `max_delivery_attempts` it publishes the message to the dead-letter topic, with
  the CloudPubSubDeadLetterSource* attributes Pub/Sub adds, and only then acknowledges it.

A message stays leased while it waits for its next attempt (its ack deadline is
extended), so the emulator never hands it out again: it is delivered, or dead-lettered,
or still on its subscription when `make dev` stops, never dropped.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# The longest lease the emulator grants: a message waiting for its next attempt keeps it.
LEASE_SECONDS = 600

# How often an idle subscription is pulled again, and the most messages delivered at once.
IDLE_SECONDS = 0.1
AT_ONCE = 8
SUCCESS = {102, 200, 201, 202, 204}


@dataclass(frozen=True)
class Route:
    """Where a subscription's messages go: the function's push endpoint, and its dead letters."""

    subscription: str
    endpoint: str
    ack_deadline: int
    dead_letter_topic: str = ""
    max_delivery_attempts: int = 0


def say(message: str) -> None:
    sys.stderr.write(f"devserver: {message}\n")
    sys.stderr.flush()


def call(host: str, path: str, body: Any) -> Any:
    """POST to the emulator's REST API; return the decoded JSON answer."""
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else {}


def backoff(attempt: int, least: float, most: float) -> float:
    """The delay before the next attempt after `attempt` failed ones: doubling, within bounds."""
    return float(min(most, least * 2 ** (attempt - 1)))


@dataclass(order=True)
class Pending:
    """A leased message, waiting for its next delivery."""

    due: float
    order: int
    ack_id: str = field(compare=False)
    message: dict[str, Any] = field(compare=False)
    attempts: int = field(default=0, compare=False)


class Pusher:
    """Delivers one subscription's messages to its function, as Pub/Sub push does."""

    def __init__(
        self,
        host: str,
        project: str,
        subscription: Route,
        stopped: threading.Event,
        least: float,
        most: float,
    ) -> None:
        self.host, self.project, self.subscription = host, project, subscription
        self.stopped = stopped
        self.least, self.most = least, most
        self.path = f"/v1/projects/{project}/subscriptions/{subscription.subscription}"
        self.waiting: list[Pending] = []
        self.lock = threading.Condition()
        self.busy = 0
        self.order = itertools.count()
        self.pool = ThreadPoolExecutor(
            AT_ONCE, thread_name_prefix=f"push-{subscription.subscription}"
        )

    def start(self) -> None:
        threading.Thread(
            target=self._pull, daemon=True, name=f"pull-{self.subscription.subscription}"
        ).start()
        threading.Thread(
            target=self._retry, daemon=True, name=f"retry-{self.subscription.subscription}"
        ).start()

    def _call(self, path: str, body: Any) -> Any:
        return call(self.host, path, body)

    def _pull(self) -> None:
        while not self.stopped.is_set():
            with self.lock:
                room = AT_ONCE - self.busy
            received: list[dict[str, Any]] = []
            if room > 0:
                try:
                    answer = self._call(
                        f"{self.path}:pull",
                        {"maxMessages": room, "returnImmediately": True},
                    )
                    received = answer.get("receivedMessages", [])
                except OSError:
                    pass  # the emulator is stopping, or busy: pull again
            for item in received:
                pending = Pending(0.0, next(self.order), item["ackId"], item["message"])
                self._submit(pending)
            if not received:
                self.stopped.wait(IDLE_SECONDS)

    def _submit(self, pending: Pending) -> None:
        with self.lock:
            self.busy += 1
        try:
            self.pool.submit(self._deliver, pending)
        except RuntimeError:  # stopping: the message stays on its subscription
            with self.lock:
                self.busy -= 1

    def _retry(self) -> None:
        while not self.stopped.is_set():
            with self.lock:
                now = time.monotonic()
                due = []
                while self.waiting and self.waiting[0].due <= now:
                    due.append(heapq.heappop(self.waiting))
                wait = self.waiting[0].due - now if self.waiting else IDLE_SECONDS * 5
            for pending in due:
                self._submit(pending)
            self.stopped.wait(min(wait, IDLE_SECONDS * 5))

    def _deliver(self, pending: Pending) -> None:
        try:
            if pending.attempts:  # a retry: lease it anew for this attempt
                self._lease(pending.ack_id)
            pending.attempts += 1
            if self._post(pending):
                self._settle(pending.ack_id)
                return
            s = self.subscription
            if s.dead_letter_topic and pending.attempts >= s.max_delivery_attempts:
                self._dead_letter(pending)
                return
            # Waiting within the lease, so that the emulator never hands the message out again.
            delay = min(backoff(pending.attempts, self.least, self.most), LEASE_SECONDS - 30)
            self._lease(pending.ack_id)
            pending.due = time.monotonic() + delay
            with self.lock:
                heapq.heappush(self.waiting, pending)
        except OSError as error:  # the emulator stopped: the message stays on its subscription
            if not self.stopped.is_set():
                say(f"{self.subscription.subscription}: could not deliver a message: {error}")
        finally:
            with self.lock:
                self.busy -= 1

    def _post(self, pending: Pending) -> bool:
        """Post the push request; True when the function acknowledged it (a 2xx answer)."""
        message = pending.message
        body: dict[str, Any] = {
            "message": {**message, "message_id": message.get("messageId", "")},
            "subscription": self.path.removeprefix("/v1/"),
        }
        if self.subscription.dead_letter_topic:
            body["deliveryAttempt"] = pending.attempts
        request = urllib.request.Request(
            self.subscription.endpoint,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.subscription.ack_deadline) as answer:
                return answer.status in SUCCESS
        except urllib.error.HTTPError:
            return False
        except OSError:  # the server is restarting, or the function took too long
            return False

    def _dead_letter(self, pending: Pending) -> None:
        """Publish the message to the dead-letter topic, then acknowledge it: never neither."""
        s, message = self.subscription, pending.message
        attributes = {
            **message.get("attributes", {}),
            "CloudPubSubDeadLetterSourceDeliveryCount": str(pending.attempts),
            "CloudPubSubDeadLetterSourceSubscription": s.subscription,
            "CloudPubSubDeadLetterSourceSubscriptionProject": self.project,
            "CloudPubSubDeadLetterSourceTopicPublishTime": message.get("publishTime", ""),
        }
        dead = {
            "data": message.get("data", base64.b64encode(b"").decode()),
            "attributes": attributes,
        }
        self._call(
            f"/v1/projects/{self.project}/topics/{s.dead_letter_topic}:publish",
            {"messages": [dead]},
        )
        say(
            f"{s.subscription}: message {message.get('messageId')} failed {pending.attempts} times: "
            f"moved to {s.dead_letter_topic} (make dead-letters; make replay)"
        )
        self._settle(pending.ack_id)

    def _lease(self, ack_id: str) -> None:
        body = {"ackIds": [ack_id], "ackDeadlineSeconds": LEASE_SECONDS}
        self._call(f"{self.path}:modifyAckDeadline", body)

    def _settle(self, ack_id: str) -> None:
        self._call(f"{self.path}:acknowledge", {"ackIds": [ack_id]})

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
