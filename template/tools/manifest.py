"""The repo's functions: functions.yaml, resolved against the repo-wide answers and checked.

    python -m tools.manifest        (or `make check`)

functions.yaml maps each deployed function name to its settings. A key a function
leaves out takes the repo-wide value given to gcf-template (.copier-answers.yml;
change those with `copier update --data KEY=VALUE`). Every function is checked with
the platform's rules (tools/rules.py) and against main.py: a function the manifest
declares that main.py does not define, or one main.py registers that the manifest
lacks, is reported with both names. `make deploy` checks the same way first, so a
setting Cloud Functions would refuse stops before anything is deployed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools import rules

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "functions.yaml"
ANSWERS = ".copier-answers.yml"

# The keys a function may set, with their YAML type. The names are those of
# gcf-template's questions, plus the keys of Pub/Sub pipelines.
KEYS: dict[str, type | tuple[type, ...]] = {
    "entry_point": str,
    "trigger_type": str,
    "pubsub_topic": str,
    "storage_bucket": str,
    "storage_event": str,
    "firestore_database": str,
    "firestore_document": str,
    "firestore_event": str,
    "audit_service_name": str,
    "audit_method_name": str,
    "schedule": str,
    "schedule_time_zone": str,
    "trigger_location": str,
    "allow_unauthenticated": bool,
    "retry_on_failure": bool,
    "dead_letter_topic": str,
    "max_delivery_attempts": int,
    "publishes": dict,
    "region": str,
    "memory": str,
    "cpu": (str, int, float),  # "1", 1 or 0.5, as gcloud takes --cpu
    "concurrency": int,
    "timeout": int,
    "min_instances": int,
    "max_instances": int,
    "secrets": list,
    "roles": list,
    "service_account": str,
    "trigger_service_account": str,
    "ingress_settings": str,
    "vpc": str,
    "vpc_connector": str,
    "vpc_network": str,
    "vpc_subnet": str,
    "vpc_egress": str,
    "database": str,
    "cloudsql_instance": str,
    "database_name": str,
    "database_user": str,
    "database_auth": str,
    "database_ip": str,
    "max_connections": int,
}
# Keys that apply to some trigger types only, and which.
EVENTS = ("pubsub", "scheduler", "storage", "firestore", "audit_log")
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "allow_unauthenticated": ("http",),
    "retry_on_failure": EVENTS,
    "trigger_service_account": EVENTS,
    "pubsub_topic": ("pubsub", "scheduler"),
    "schedule": ("scheduler",),
    "schedule_time_zone": ("scheduler",),
    "storage_bucket": ("storage",),
    "storage_event": ("storage",),
    "firestore_database": ("firestore",),
    "firestore_document": ("firestore",),
    "firestore_event": ("firestore",),
    "audit_service_name": ("audit_log",),
    "audit_method_name": ("audit_log",),
    "trigger_location": ("storage", "firestore", "audit_log"),
    "dead_letter_topic": ("pubsub",),
    "max_delivery_attempts": ("pubsub",),
}
# Repo-wide answers a function inherits only when its trigger is of the repo's own
# kind (HTTP or event), or of the repo's own type: they were given for that trigger.
BY_KIND = (
    "allow_unauthenticated",
    "retry_on_failure",
    "trigger_service_account",
    "ingress_settings",
)
BY_TYPE = tuple(k for k in APPLIES_TO if k not in BY_KIND)
# What each trigger type needs to be deployed: these have no default.
REQUIRED: dict[str, tuple[str, ...]] = {
    "pubsub": ("pubsub_topic",),
    "scheduler": ("pubsub_topic", "schedule"),
    "storage": ("storage_bucket",),
    "firestore": ("firestore_document",),
    "audit_log": ("audit_service_name", "audit_method_name"),
}
ENV_NAME = re.compile("[A-Za-z_][A-Za-z0-9_]*")


class ManifestError(Exception):
    """functions.yaml or the answers break a rule; `errors` has one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Function:
    """One function of the manifest, every setting resolved."""

    name: str
    settings: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    @property
    def entry_point(self) -> str:
        return str(self.settings["entry_point"])

    @property
    def trigger_type(self) -> str:
        return str(self.settings["trigger_type"])

    @property
    def signature_type(self) -> str:
        """How functions-framework calls it: `http`, or `cloudevent` for every event trigger."""
        return "http" if self.trigger_type == "http" else "cloudevent"

    @property
    def push_subscription(self) -> bool:
        """Delivered by a push subscription of the repo's own, with retries and a dead-letter topic."""
        return bool(self.settings.get("dead_letter_topic"))

    @property
    def publishes(self) -> dict[str, str]:
        return dict(self.settings.get("publishes") or {})


@dataclass(frozen=True)
class Manifest:
    """The repo-wide answers and every function, checked."""

    answers: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return str(self.answers.get("gcp_project_id", ""))

    @property
    def environments(self) -> list[str]:
        return list(self.answers.get("environments") or ["production"])

    @property
    def ci_environments(self) -> list[str]:
        """The environments CI deploys (copier.yml's deploy_jobs): the first that is not
        production, from the default branch, and production, from version tags."""
        others = [e for e in self.environments if e != "production"]
        return others[:1] + (["production"] if "production" in self.environments else [])

    def owned_topics(self) -> set[str]:
        """Topics the repo creates: those its functions publish to, scheduler topics, the
        topics of its own push subscriptions and their dead-letter topics."""
        topics = {t for f in self.functions.values() for t in f.publishes.values()}
        for f in self.functions.values():
            if f.trigger_type == "scheduler" or f.push_subscription:
                topics.add(f["pubsub_topic"])
            if f.push_subscription:
                topics.add(f["dead_letter_topic"])
        return topics

    def topic(self, topic: str, environment: str) -> str:
        """A topic's id in an environment: the repo's own topics are suffixed outside production."""
        if topic in self.owned_topics() and environment != "production":
            return f"{topic}-{environment}"
        return topic

    def function_name(self, function: Function, environment: str) -> str:
        """The deployed name: <name>-<environment> outside production."""
        return function.name if environment == "production" else f"{function.name}-{environment}"

    def by_entry_point(self) -> dict[str, Function]:
        return {f.entry_point: f for f in self.functions.values()}


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ManifestError([f"{path.name} is missing"]) from None
    except yaml.YAMLError as error:
        raise ManifestError([f"{path.name} is not valid YAML: {error}"]) from None


def read_answers(root: Path = ROOT) -> dict[str, Any]:
    answers = read_yaml(root / ANSWERS) or {}
    return {k: v for k, v in answers.items() if not str(k).startswith("_")}


def account_id_base(answers: Mapping[str, Any]) -> str:
    """The prefix of the repo's service account names (as gcf-template derives it)."""
    name = str(answers.get("function_name", "function"))
    return (name if len(name) >= 3 else f"{name}-fn")[:20].rstrip("-")


def default(key: str, name: str, settings: Mapping[str, Any], answers: Mapping[str, Any]) -> Any:
    """The value of a key that neither the function nor the answers give."""
    trigger_type = settings.get("trigger_type")
    project = answers.get("gcp_project_id", "")
    values: dict[str, Any] = {
        "entry_point": name.replace("-", "_"),
        "trigger_type": "http",
        "storage_event": "finalized",
        "firestore_database": "(default)",
        "firestore_event": "written",
        "schedule_time_zone": "Etc/UTC",
        "trigger_location": "global" if trigger_type == "audit_log" else settings.get("region"),
        "allow_unauthenticated": False,
        "retry_on_failure": bool(settings.get("dead_letter_topic")),
        "max_delivery_attempts": 5,
        "publishes": {},
        "secrets": [],
        "roles": [],
        "ingress_settings": "all" if trigger_type == "http" else "internal-only",
        "vpc": "none",
        "vpc_egress": "private-ranges-only",
        "database": "none",
        "database_auth": "iam",
        "database_ip": "public",
        "max_connections": rules.DEFAULT_MAX_CONNECTIONS,
        "service_account": f"{account_id_base(answers)}-sa@{project}.iam.gserviceaccount.com",
        "trigger_service_account": f"{account_id_base(answers)}-trigger@{project}.iam.gserviceaccount.com",
    }
    return values.get(key)


def resolve(name: str, entry: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """A function's settings: its own, else the repo-wide answer, else the default."""
    repo_trigger = answers.get("trigger_type", "http")
    settings: dict[str, Any] = {}
    # The trigger type first: which answers apply depends on it; the region before the
    # trigger location, which defaults to it.
    first = ("trigger_type", "region")
    for key in (*first, *(k for k in KEYS if k not in first)):
        trigger = settings.get("trigger_type")
        if key in BY_TYPE:
            inherits = trigger == repo_trigger
        elif key in BY_KIND:
            inherits = (trigger == "http") == (repo_trigger == "http")
        else:
            inherits = True
        if key in entry:
            settings[key] = entry[key]
        elif key == "entry_point" and name != answers.get("function_name"):
            settings[key] = default(key, name, settings, answers)
        elif inherits and key in answers:
            settings[key] = answers[key]
        else:
            settings[key] = default(key, name, {**settings, **entry}, answers)
    if isinstance(settings["cpu"], int | float) and not isinstance(settings["cpu"], bool):
        settings["cpu"] = str(settings["cpu"])
    return settings


def function_errors(
    name: Any, entry: Any, settings: Mapping[str, Any], answers: Mapping[str, Any]
) -> list[str]:
    """Every rule a function breaks, one line each; and, for the repo's first function, a hint
    when its trigger is no longer the answers' (after `copier update --data trigger_type=...`)."""
    errors = rule_errors(name, entry, settings, answers)
    repo_trigger = answers.get("trigger_type")
    if errors and name == answers.get("function_name") and isinstance(entry, dict):
        trigger = entry.get("trigger_type", repo_trigger)
        if trigger != repo_trigger:
            errors.append(
                f"trigger_type: functions.yaml makes {name} a {trigger} function, and the answers' "
                f"trigger_type is {repo_trigger}: after changing the answer, change this entry and "
                'the function in main.py to match (README.md, "Changing an answer")'
            )
    return errors


def rule_errors(
    name: Any, entry: Any, settings: Mapping[str, Any], answers: Mapping[str, Any]
) -> list[str]:
    """Every rule a function breaks, one line each."""
    if not isinstance(entry, dict):
        return [
            f"must be a map of settings such as {{entry_point: ..., trigger_type: ...}}{rules.got(entry)}"
        ]
    errors = [
        f"{key}: unknown key; known keys are {', '.join(KEYS)}" for key in entry if key not in KEYS
    ]
    errors += [rules.type_error(entry[key], key, KEYS[key]) for key in entry if key in KEYS]
    if any(errors):
        return [e for e in errors if e]
    s = settings
    trigger = s["trigger_type"]
    errors.append(rules.function_name_error(name, "name"))
    environments = list(answers.get("environments") or [])
    longest = max((len(e) for e in environments if e != "production"), default=-1)
    if not errors[-1] and len(name) + longest + 1 > 63:
        errors.append(
            f"name: outside production the function deploys as {name}-<environment>, "
            f"which must fit in 63 characters{rules.got(name)}"
        )
    errors.append(rules.entry_point_error(s["entry_point"]))
    errors.append(rules.choice_error(trigger, "trigger_type", rules.TRIGGER_TYPES))
    if trigger not in rules.TRIGGER_TYPES:
        return [e for e in errors if e]
    errors += [
        f"{key}: required for a {trigger} function"
        for key in REQUIRED.get(trigger, ())
        if not s[key]
    ]
    errors += [
        f"{key}: only for {', '.join(APPLIES_TO[key])} functions, and this one is {trigger}"
        for key in entry
        if trigger not in APPLIES_TO.get(key, rules.TRIGGER_TYPES)
    ]
    if any(errors):
        return [e for e in errors if e]
    errors += trigger_errors(s, entry, environments)
    errors += resource_errors(s)
    if not any(errors):
        errors += database_errors(s, answers)
    errors.append(rules.warm_instances_error(s["min_instances"], environments or ["production"]))
    return [e for e in errors if e]


def trigger_errors(
    s: Mapping[str, Any], entry: Mapping[str, Any], environments: list[str]
) -> list[str]:
    trigger = s["trigger_type"]
    longest = max((len(e) for e in environments if e != "production"), default=-1)
    room = 255 - longest - 1
    errors = []
    if trigger in ("pubsub", "scheduler"):
        errors.append(
            rules.topic_error(s["pubsub_topic"], room=room if trigger == "scheduler" else 255)
        )
    if trigger == "scheduler":
        errors += [rules.cron_error(s["schedule"]), rules.time_zone_error(s["schedule_time_zone"])]
    if trigger == "storage":
        errors += [
            rules.bucket_error(s["storage_bucket"]),
            rules.choice_error(s["storage_event"], "storage_event", rules.STORAGE_EVENTS),
        ]
    if trigger == "firestore":
        errors += [
            rules.firestore_database_error(s["firestore_database"]),
            rules.firestore_document_error(s["firestore_document"]),
            rules.choice_error(s["firestore_event"], "firestore_event", rules.FIRESTORE_EVENTS),
        ]
    if trigger == "audit_log":
        errors += [
            rules.audit_service_error(s["audit_service_name"]),
            rules.audit_method_error(s["audit_method_name"]),
        ]
    if trigger in ("storage", "firestore", "audit_log"):
        errors.append(rules.trigger_location_error(s["trigger_location"], trigger))
    if trigger != "http":
        errors.append(
            rules.service_account_error(s["trigger_service_account"], "trigger_service_account")
        )
    for variable, topic in s["publishes"].items():
        if not isinstance(topic, str) or not ENV_NAME.fullmatch(str(variable)):
            errors.append(
                "publishes: must map environment variable names to topic ids, "
                f"such as {{RECORDS_TOPIC: records}}{rules.got({str(variable): topic})}"
            )
        elif str(variable) in rules.RESERVED_NAMES or str(variable).startswith("X_GOOGLE_"):
            errors.append(f"publishes: {variable} is a reserved name{rules.got(variable)}")
        else:
            errors.append(rules.topic_error(topic, f"publishes.{variable}", room))
    if s["dead_letter_topic"]:
        if trigger != "pubsub":
            errors.append(
                f"dead_letter_topic: only for pubsub functions, and this one is {trigger}"
            )
        elif entry.get("retry_on_failure") is False:
            errors.append(
                "dead_letter_topic: needs retry_on_failure: true, since only retried messages "
                "reach a dead-letter topic"
            )
        else:
            errors.append(rules.topic_error(s["dead_letter_topic"], "dead_letter_topic", room))
            low, high = rules.MAX_DELIVERY_ATTEMPTS
            if not low <= s["max_delivery_attempts"] <= high:
                errors.append(
                    f"max_delivery_attempts: must be {low} to {high}{rules.got(s['max_delivery_attempts'])}"
                )
    elif "max_delivery_attempts" in entry:
        errors.append("max_delivery_attempts: needs a dead_letter_topic")
    return errors


def resource_errors(s: Mapping[str, Any]) -> list[str]:
    errors = [
        rules.region_error(s["region"]),
        rules.memory_error(s["memory"]),
    ]
    if not errors[-1]:
        errors.append(rules.cpu_error(s["cpu"], s["memory"]))
        if not errors[-1]:
            errors.append(rules.concurrency_error(s["concurrency"], s["cpu"], s["memory"]))
    errors += [
        rules.timeout_error(s["timeout"], s["trigger_type"]),
        rules.instances_error(s["min_instances"], s["max_instances"]),
        rules.secrets_error(s["secrets"]),
        rules.roles_error(s["roles"]),
        rules.service_account_error(s["service_account"], "service_account"),
        rules.choice_error(s["ingress_settings"], "ingress_settings", rules.INGRESS_SETTINGS),
        rules.choice_error(s["vpc"], "vpc", rules.VPC_KINDS),
    ]
    if s["vpc"] == "connector":
        errors.append(rules.connector_error(s["vpc_connector"] or ""))
    if s["vpc"] == "direct":
        errors += [
            rules.network_error(s["vpc_network"] or "", "vpc_network"),
            rules.network_error(s["vpc_subnet"] or "", "vpc_subnet"),
        ]
    if s["vpc"] != "none":
        errors.append(rules.choice_error(s["vpc_egress"], "vpc_egress", rules.VPC_EGRESS))
    return errors


def database_errors(s: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """A function's Cloud SQL settings: complete, reachable, and a pool the database can hold."""
    errors = [rules.choice_error(s["database"], "database", rules.DATABASES)]
    if s["database"] != "cloudsql_postgres":
        return errors
    if answers.get("database") != "cloudsql_postgres":
        return [
            "database: the repo has no database module (database.py and its requirements): "
            "add it with `copier update --data database=cloudsql_postgres`"
        ]
    errors += [
        f"{key}: required for a function with a database"
        for key in ("cloudsql_instance", "database_name", "database_user")
        if not s[key]
    ]
    if any(errors):
        return errors
    errors += [
        rules.cloudsql_instance_error(s["cloudsql_instance"]),
        rules.database_name_error(s["database_name"]),
        rules.choice_error(s["database_auth"], "database_auth", rules.DATABASE_AUTH),
        rules.choice_error(s["database_ip"], "database_ip", rules.DATABASE_IPS),
        rules.database_ip_error(s["database_ip"], s["vpc"]),
        rules.database_pool_error(s["max_connections"], s["max_instances"], s["concurrency"]),
    ]
    if s["database_auth"] in rules.DATABASE_AUTH:
        errors.append(
            rules.database_user_error(s["database_user"], s["database_auth"], s["service_account"])
        )
    names = {str(e).partition("=")[0] for e in s["secrets"]}
    if s["database_auth"] == "password" and "DB_PASSWORD" not in names:
        errors.append(
            "database_auth: password needs DB_PASSWORD in the function's secrets, "
            "such as DB_PASSWORD=db-password:latest"
        )
    return errors


def load(root: Path = ROOT) -> Manifest:
    """Read and check functions.yaml; raise ManifestError with every problem found."""
    answers = read_answers(root)
    document = read_yaml(root / MANIFEST)
    entries = document.get("functions") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ManifestError(
            [f"{MANIFEST}: must have a map `functions:` from function names to their settings"]
        )
    errors: list[str] = []
    functions: dict[str, Function] = {}
    for name, entry in entries.items():
        settings = resolve(str(name), entry, answers) if isinstance(entry, dict) else {}
        problems = function_errors(str(name), entry, settings, answers)
        errors += [f"{MANIFEST}: function {str(name)!r}: {p}" for p in problems]
        if not problems:
            functions[str(name)] = Function(str(name), settings)
    seen: dict[str, str] = {}
    for function in functions.values():
        other = seen.setdefault(function.entry_point, function.name)
        if other != function.name:
            errors.append(
                f"{MANIFEST}: function {function.name!r}: entry_point: {function.entry_point} "
                f"is also the entry point of {other!r}; each function needs its own"
            )
    if errors:
        raise ManifestError(errors)
    return Manifest(answers, functions)


def registered_functions(root: Path = ROOT) -> tuple[dict[str, str], set[str]]:
    """What main.py registers with functions-framework (name -> signature type), and what it defines."""
    from functions_framework import _function_registry

    _function_registry.REGISTRY_MAP.clear()
    spec = importlib.util.spec_from_file_location("main", root / "main.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {root / 'main.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    spec.loader.exec_module(module)
    defined = {name for name, value in vars(module).items() if callable(value)}
    registered = {
        name: kind for name, kind in _function_registry.REGISTRY_MAP.items() if name in defined
    }
    return registered, defined


def main_py_errors(manifest: Manifest, root: Path = ROOT) -> list[str]:
    """Functions the manifest and main.py disagree on, with both names."""
    registered, defined = registered_functions(root)
    errors = []
    for function in manifest.functions.values():
        entry_point, kind = function.entry_point, registered.get(function.entry_point)
        where = f"{MANIFEST} declares {function.name!r} with entry_point {entry_point!r}"
        if entry_point not in defined:
            errors.append(f"{where}, which main.py does not define")
        elif kind is None and function.signature_type != "http":
            errors.append(
                f"{where} as a {function.trigger_type} function, but main.py's {entry_point} "
                "has no @functions_framework.cloud_event decorator"
            )
        elif kind is not None and kind != function.signature_type:
            errors.append(
                f"{where} as a {function.trigger_type} function ({function.signature_type}), "
                f"but main.py registers {entry_point} as {kind}"
            )
    declared = manifest.by_entry_point()
    errors += [
        f"main.py registers {name!r} ({kind}), which {MANIFEST} lacks: add it under functions:, "
        f"for example `{name.replace('_', '-')}: {{entry_point: {name}, trigger_type: ...}}`"
        for name, kind in registered.items()
        if name not in declared
    ]
    return errors


def main() -> int:
    try:
        manifest = load()
    except ManifestError as error:
        print("\n".join(error.errors), file=sys.stderr)
        return 1
    try:
        errors = main_py_errors(manifest)
    except Exception as error:  # main.py's own error, shown as such
        print(f"main.py cannot be imported: {error!r}", file=sys.stderr)
        return 1
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    for function in manifest.functions.values():
        print(
            f"{function.name}: {function.entry_point} ({function.trigger_type}), "
            f"{function['memory']}, {function['cpu']} vCPU, concurrency {function['concurrency']}"
        )
    print(f"{MANIFEST}: {len(manifest.functions)} function(s) checked against main.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
