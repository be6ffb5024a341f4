"""One function of functions.yaml, every setting resolved and typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from gcf_devkit import rules


@dataclass(frozen=True)
class Function:
    """A function as it deploys: its own settings, else the repo's answers, else defaults.

    Settings that do not apply to its trigger are "" (strings), False or 0.
    """

    name: str
    entry_point: str
    trigger_type: str
    region: str
    memory: str
    cpu: str
    concurrency: int
    timeout: int
    min_instances: int
    max_instances: int
    service_account: str
    ingress_settings: str
    deploy_api: str = "functions"
    secrets: tuple[str, ...] = ()
    roles: tuple[rules.Grant, ...] = ()
    publishes: Mapping[str, str] = field(default_factory=dict)
    allow_unauthenticated: bool = False
    retry_on_failure: bool = False
    trigger_service_account: str = ""
    pubsub_topic: str = ""
    storage_bucket: str = ""
    storage_event: str = ""
    firestore_database: str = ""
    firestore_document: str = ""
    firestore_event: str = ""
    audit_service_name: str = ""
    audit_method_name: str = ""
    schedule: str = ""
    schedule_time_zone: str = ""
    trigger_location: str = ""
    dead_letter_topic: str = ""
    max_delivery_attempts: int = 0
    vpc: str = "none"
    vpc_connector: str = ""
    vpc_network: str = ""
    vpc_subnet: str = ""
    vpc_egress: str = ""
    database: str = "none"
    cloudsql_instance: str = ""
    database_name: str = ""
    database_user: str = ""
    database_auth: str = ""
    database_ip: str = ""
    max_connections: int = 0
    function_style: str = "sync"

    @classmethod
    def from_settings(cls, name: str, settings: Mapping[str, Any]) -> Function:
        """Build from resolved settings (that passed the checks); None becomes the empty value."""
        values: dict[str, Any] = {"name": name}
        for f in fields(cls):
            if f.name == "name" or f.name not in settings:
                continue
            value = settings[f.name]
            if f.name == "secrets":
                value = tuple(str(v) for v in value or ())
            elif f.name == "roles":
                value = tuple(rules.grant(v) for v in value or ())
            elif f.name == "publishes":
                value = {str(k): str(v) for k, v in (value or {}).items()}
            elif value is None:
                value = "" if f.type == "str" else 0 if f.type == "int" else False
            elif f.name == "cpu":
                value = str(value)
            values[f.name] = value
        return cls(**values)

    @property
    def http(self) -> bool:
        return self.trigger_type == "http"

    @property
    def signature_type(self) -> str:
        """How functions-framework calls it: `http`, or `cloudevent` for every event trigger."""
        return rules.signature_type(self.trigger_type)

    @property
    def event_type(self) -> str:
        return rules.event_type(self.trigger_type, self.storage_event, self.firestore_event)

    @property
    def run(self) -> bool:
        """Deployed through the Cloud Run Admin API (`gcloud run deploy --function`)."""
        return self.deploy_api == "run"

    @property
    def push_subscription(self) -> bool:
        """Delivered by a push subscription of the repo's own, with retries (and a dead-letter
        topic when it names one): every Pub/Sub or Scheduler function of the Cloud Run route."""
        return bool(self.dead_letter_topic) or (
            self.run and self.trigger_type in ("pubsub", "scheduler")
        )

    @property
    def eventarc(self) -> bool:
        """Delivered by an Eventarc trigger that the deploy manages (Cloud Run route only)."""
        return self.run and self.trigger_type in rules.LOCATED_TRIGGERS

    @property
    def is_async(self) -> bool:
        """Written with functions_framework.aio: served on one event loop (gcf_devkit.rules)."""
        return self.function_style == "async"

    @property
    def has_database(self) -> bool:
        return self.database == "cloudsql_postgres"

    @property
    def rights(self) -> frozenset[str]:
        """What `gcf setup` lets this function's identity reach, one phrase each."""
        rights = {f"secret {rules.secret_parts(e)[2]}" for e in self.secrets}
        rights |= {f"{g.role} on {g.scope} {g.resource}" if g.scope else g.role for g in self.roles}
        rights |= {f"publish to {topic}" for topic in self.publishes.values()}
        if self.trigger_type == "storage":
            rights.add(f"read gs://{self.storage_bucket}")
        if self.trigger_type == "firestore":
            rights.add(f"Firestore {self.firestore_database}")
        if self.has_database:
            rights.add(f"Cloud SQL {self.cloudsql_instance}")
        return frozenset(rights)

    @property
    def secret_names(self) -> set[str]:
        return {entry.partition("=")[0] for entry in self.secrets}
