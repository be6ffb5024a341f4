"""Triggers: their types, the events they deliver, where events come from, and their filters."""

from __future__ import annotations

import re

from ._common import got
from ._names import REGIONS

TRIGGER_TYPES = ("http", "pubsub", "storage", "firestore", "audit_log", "scheduler")
EVENT_TRIGGERS = TRIGGER_TYPES[1:]
# Triggers whose events come from a location of their own (an Eventarc trigger's location).
LOCATED_TRIGGERS = ("storage", "firestore", "audit_log")
STORAGE_EVENTS = ("finalized", "deleted", "archived", "metadataUpdated")
FIRESTORE_EVENTS = ("created", "updated", "deleted", "written")
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_PREFIX = "google.cloud.storage.object.v1."
FIRESTORE_PREFIX = "google.cloud.firestore.document.v1."
AUDIT_LOG_WRITTEN = "google.cloud.audit.log.v1.written"
# Locations besides regions: Cloud Storage multi- and dual-regions, Firestore multi-regions.
OTHER_LOCATIONS = {
    "storage": ("us", "eu", "asia", "nam4", "eur4", "eur5", "eur7", "eur8", "asia1"),
    "firestore": ("nam5", "nam7", "eur3"),
    "audit_log": ("global",),
}
# A Pub/Sub push subscription of the repo's own delivers at least this many times, at most that,
# and waits between attempts from the least to the most retry delay (exponential backoff).
MAX_DELIVERY_ATTEMPTS = (5, 100)
MIN_RETRY_DELAY = "10s"
MAX_RETRY_DELAY = "600s"
# How a function is deployed: through the Cloud Run Admin API (`gcloud run deploy --function`,
# Google's recommended route, triggers as resources of their own) or the Cloud Functions API.
DEPLOY_APIS = ("run", "functions")
# Runtime ids and the base images of `gcloud run deploy --base-image` are the same names.
BASE_IMAGES = {f"python3{minor}": f"python3{minor}" for minor in range(11, 15)}


def retry_default(deploy_api: str, trigger_type: str) -> bool:
    """Whether an event is retried unless told: on the Cloud Run route, always (its Eventarc
    triggers and push subscriptions deliver at least once)."""
    return deploy_api == "run" and trigger_type != "http"


def deploy_api_error(value: object, trigger_type: str = "http", retry: bool = True) -> str:
    """The route must be known; on the Cloud Run route an event function's events are retried."""
    if value not in DEPLOY_APIS:
        return f"deploy_api: must be one of {', '.join(DEPLOY_APIS)}{got(value)}"
    if value == "run" and trigger_type != "http" and not retry:
        return (
            "retry_on_failure: a function deployed with deploy_api: run gets its events from an "
            "Eventarc trigger or a push subscription, which retry until delivered (gcloud sets "
            "no single-attempt policy on them): make the handler idempotent and set "
            f"retry_on_failure: true, or deploy it with deploy_api: functions{got(retry)}"
        )
    return ""


def signature_type(trigger_type: str) -> str:
    """How functions-framework calls a function: `http`, or `cloudevent` for every event."""
    return "http" if trigger_type == "http" else "cloudevent"


def event_type(trigger_type: str, storage_event: str = "", firestore_event: str = "") -> str:
    """The CloudEvent type a function of this trigger receives ("" for HTTP)."""
    if trigger_type in ("pubsub", "scheduler"):
        return PUBSUB_PUBLISHED
    if trigger_type == "storage":
        return STORAGE_PREFIX + storage_event
    if trigger_type == "firestore":
        return FIRESTORE_PREFIX + firestore_event
    if trigger_type == "audit_log":
        return AUDIT_LOG_WRITTEN
    return ""


def default_trigger_location(trigger_type: str, region: str) -> str:
    """Where a trigger's events come from unless told: audit logs are global, the rest regional."""
    return "global" if trigger_type == "audit_log" else region


def trigger_location_error(value: str, trigger_type: str) -> str:
    others = OTHER_LOCATIONS.get(trigger_type, ())
    if value not in REGIONS and value not in others:
        such_as = f", or one of {', '.join(others)}" if others else ""
        return f"trigger_location: must be a region such as us-central1{such_as}{got(value)}"
    return ""


def firestore_database_error(value: str) -> str:
    if value != "(default)" and not re.fullmatch("[a-z][a-z0-9-]{2,61}[a-z0-9]", value):
        return (
            "firestore_database: must be (default) or 4-63 characters of lower-case letters, "
            f"digits and hyphens, starting with a letter and ending with a letter or digit{got(value)}"
        )
    return ""


def firestore_document_error(value: str) -> str:
    """A document path pattern: collection/document pairs, each segment a literal id or a
    {wildcard}. Firestore refuses ids that are . or .. or __...__; literal ids here are letters,
    digits and - _ . ~ % + @, which the deploy command, the samples and the docs carry as they
    are."""
    segments = value.split("/")
    segment = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|[-A-Za-z0-9_.~%+@]+")
    if any(
        not segment.fullmatch(s) or s in (".", "..") or re.fullmatch("__.*__", s) for s in segments
    ):
        return (
            "firestore_document: each segment must be an id of letters, digits and - _ . ~ % + @ "
            "(not . or .. or __id__), or a {wildcard} such as {userId}, separated by single "
            f"slashes{got(value)}"
        )
    if len(segments) % 2:
        return (
            "firestore_document: must name documents, so an even number of segments such as "
            f"users/{{userId}} or users/{{userId}}/orders/{{orderId}}{got(value)}"
        )
    if len(value) > 1500:
        return f"firestore_document: must be at most 1500 characters{got(value)}"
    return ""


def sample_document(pattern: str) -> str:
    """A document path matching a pattern: each {wildcard} filled in (users/{userId} -> users/userId-1)."""
    return re.sub(r"\{(\w+)\}", r"\1-1", pattern)


def audit_service_error(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*\.googleapis\.com", value):
        return (
            "audit_service_name: must be a Google API service name ending in .googleapis.com, "
            f"such as bigquery.googleapis.com{got(value)}"
        )
    return ""


def audit_method_error(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+", value):
        return (
            "audit_method_name: must be a dotted method name such as "
            f"google.cloud.bigquery.v2.JobService.InsertJob or storage.objects.create{got(value)}"
        )
    return ""


def max_delivery_attempts_error(value: int) -> str:
    low, high = MAX_DELIVERY_ATTEMPTS
    if not low <= value <= high:
        return f"max_delivery_attempts: must be {low} to {high}{got(value)}"
    return ""


def ack_deadline(timeout: int) -> int:
    """A push subscription's acknowledgement deadline for a function's timeout: 10 to 600 s."""
    return min(600, max(10, timeout))
