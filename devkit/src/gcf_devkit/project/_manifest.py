"""functions.yaml: each function's settings resolved against the repo's answers, and checked.

A key a function leaves out takes the repo-wide answer (.copier-answers.yml), else its
default. Every function is checked with the platform's rules (gcf_devkit.rules); every
problem is reported, one line each, naming the function and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gcf_devkit import rules
from gcf_devkit.project._files import MANIFEST, ProjectError
from gcf_devkit.project._function import Function

# The keys a function may set, with their YAML type. The names are those of
# gcf-template's questions, plus the keys of Pub/Sub pipelines.
KEYS: dict[str, type | tuple[type, ...]] = {
    "entry_point": str,
    "deploy_api": str,
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
    "function_style": str,  # sync or async: main.py's decorator decides, `gcf check` compares
}
# Keys that apply to some trigger types only, and which.
EVENTS = rules.EVENT_TRIGGERS
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
    "trigger_location": rules.LOCATED_TRIGGERS,
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


# The keys a function takes a default for when neither it nor the answers give them.
DEFAULTED = {
    *rules.CONSTANT_DEFAULTS,
    "retry_on_failure",
    "trigger_location",
    "ingress_settings",
    "database_ip",
    "max_connections",
    "service_account",
    "trigger_service_account",
}


def default(key: str, name: str, settings: Mapping[str, Any], answers: Mapping[str, Any]) -> Any:
    """The value of a key that neither the function nor the answers give: the question's
    default (gcf_devkit.rules, as the questionnaire proposes it), or one of functions.yaml's."""
    if key == "entry_point":
        return name.replace("-", "_")
    if key == "retry_on_failure" and settings.get("dead_letter_topic"):
        return True  # only retried messages reach a dead-letter topic
    own = {
        # A repo whose answers have no route was made before the question: it keeps its route.
        "deploy_api": "functions",
        "max_delivery_attempts": rules.MAX_DELIVERY_ATTEMPTS[0],
        "publishes": {},
        "roles": [],
    }
    if key in own:
        return own[key]
    if key not in DEFAULTED:
        return None  # required for its trigger (REQUIRED), or the repo's answer only
    # A function of functions.yaml is checked, and defaulted, as the single function of a repo.
    context = {"function_name": "function", **answers, **settings, "preset": "single"}
    try:
        return rules.question_default(key, context)
    except KeyError:  # what it derives from is missing: the check of that key says so
        return None


def resolve(name: str, entry: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """A function's settings: its own, else the repo-wide answer, else the default."""
    repo_trigger = answers.get("trigger_type", "http")
    settings: dict[str, Any] = {}
    # The trigger type first: which answers apply depends on it; the region before the
    # trigger location, which defaults to it.
    first = ("trigger_type", "region", "deploy_api")
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
        elif key == "service_account" and name != answers.get("function_name") and answers:
            # Each function runs as an identity of its own unless it names one (`gcf setup`
            # makes it): a function added to functions.yaml gets none of the others' rights.
            settings[key] = rules.function_account(
                str(answers.get("function_name", "")), str(answers.get("gcp_project_id", "")), name
            )
        elif inherits and key in answers:
            settings[key] = answers[key]
        else:
            settings[key] = default(key, name, {**settings, **entry}, answers)
    added = name != answers.get("function_name")
    if added and "database_user" not in entry and settings["database_auth"] == "iam":
        # With IAM authentication the database user is the function's identity.
        settings["database_user"] = rules.iam_database_user(str(settings["service_account"]))
    if isinstance(settings["cpu"], int | float) and not isinstance(settings["cpu"], bool):
        settings["cpu"] = str(settings["cpu"])
    return settings


def applicable(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings with those that do not apply to the function's trigger emptied."""
    trigger = settings.get("trigger_type")
    return {
        k: None if trigger not in APPLIES_TO.get(k, (trigger,)) else v for k, v in settings.items()
    }


def function_errors(
    name: str, entry: Any, settings: Mapping[str, Any], answers: Mapping[str, Any]
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
    name: str, entry: Any, settings: Mapping[str, Any], answers: Mapping[str, Any]
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
    environments = list(answers.get("environments") or [])
    errors.append(rules.function_name_error(name, "name"))
    if not errors[-1] and len(name) + rules.suffix_room(environments) > 63:
        errors.append(
            f"name: outside production the function deploys as {name}-<environment>, "
            f"which must fit in 63 characters{rules.got(name)}"
        )
    errors.append(rules.entry_point_error(s["entry_point"]))
    errors.append(rules.choice_error(trigger, "trigger_type", rules.TRIGGER_TYPES))
    errors.append(rules.deploy_api_error(s["deploy_api"]))
    if trigger not in rules.TRIGGER_TYPES or errors[-1]:
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
    # Each setting is checked as the questionnaire checks the answers of a single function:
    # the same rule, with the function's settings over the repo's answers.
    a = {**answers, **s, "preset": "single"}
    errors += trigger_errors(a, entry)
    errors += resource_errors(a)
    if not any(errors):
        errors += database_errors(a, answers)
    errors.append(rules.question_error("min_instances", a))
    return [e for e in errors if e]


def trigger_errors(a: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    trigger = a["trigger_type"]
    room = 255 - rules.suffix_room(list(a.get("environments") or []))
    keys = {
        "pubsub": ["pubsub_topic"],
        "scheduler": ["pubsub_topic", "schedule", "schedule_time_zone"],
        "storage": ["storage_bucket"],
        "firestore": ["firestore_database", "firestore_document"],
        "audit_log": ["audit_service_name", "audit_method_name"],
    }.get(trigger, [])
    keys += ["trigger_location"] if trigger in rules.LOCATED_TRIGGERS else []
    keys += ["trigger_service_account"] if trigger != "http" else []
    errors = [rules.question_error(key, a) for key in keys]
    errors.append(rules.deploy_api_error(a["deploy_api"], trigger, bool(a["retry_on_failure"])))
    if trigger == "storage":
        errors.append(rules.choice_error(a["storage_event"], "storage_event", rules.STORAGE_EVENTS))
    if trigger == "firestore":
        errors.append(
            rules.choice_error(a["firestore_event"], "firestore_event", rules.FIRESTORE_EVENTS)
        )
    for variable, topic in a["publishes"].items():
        if not isinstance(topic, str) or not rules.ENV_NAME.fullmatch(str(variable)):
            errors.append(
                "publishes: must map environment variable names to topic ids, "
                f"such as {{RECORDS_TOPIC: records}}{rules.got({str(variable): topic})}"
            )
        elif rules.reserved(str(variable)):
            errors.append(f"publishes: {variable} is a reserved name{rules.got(variable)}")
        else:
            errors.append(rules.topic_error(topic, f"publishes.{variable}", room))
    if a["dead_letter_topic"]:
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
            errors.append(rules.topic_error(a["dead_letter_topic"], "dead_letter_topic", room))
            errors.append(rules.max_delivery_attempts_error(a["max_delivery_attempts"]))
    elif "max_delivery_attempts" in entry:
        errors.append("max_delivery_attempts: needs a dead_letter_topic")
    return errors


def resource_errors(a: Mapping[str, Any]) -> list[str]:
    errors = [rules.question_error("region", a), rules.question_error("memory", a)]
    memory_ok = not errors[-1]
    errors.append(rules.question_error("function_style", a))
    if memory_ok:
        errors.append(rules.question_error("cpu", a))
        if not errors[-1]:
            errors.append(rules.question_error("concurrency", a))
    errors += [rules.question_error(key, a) for key in ("timeout", "secrets", "service_account")]
    errors.append(rules.max_instances_error(a["max_instances"], a["min_instances"]))
    errors += [
        rules.roles_error(a["roles"]),
        rules.choice_error(a["ingress_settings"], "ingress_settings", rules.INGRESS_SETTINGS),
        rules.choice_error(a["vpc"], "vpc", rules.VPC_KINDS),
    ]
    if a["vpc"] == "connector":
        errors.append(
            rules.question_error("vpc_connector", {**a, "vpc_connector": a["vpc_connector"] or ""})
        )
    if a["vpc"] == "direct":
        errors += [
            rules.question_error(key, {**a, key: a[key] or ""})
            for key in ("vpc_network", "vpc_subnet")
        ]
    if a["vpc"] != "none":
        errors.append(rules.choice_error(a["vpc_egress"], "vpc_egress", rules.VPC_EGRESS))
    return errors


def database_errors(a: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """A function's Cloud SQL settings: complete, reachable, and a pool the database can hold."""
    errors = [rules.choice_error(a["database"], "database", rules.DATABASES)]
    if a["database"] != "cloudsql_postgres":
        return errors
    if answers.get("database") != "cloudsql_postgres":
        return [
            "database: the repo has no database module (database.py and its requirements): "
            "add it with `copier update --data database=cloudsql_postgres`"
        ]
    errors += [
        f"{key}: required for a function with a database"
        for key in ("cloudsql_instance", "database_name", "database_user")
        if not a[key]
    ]
    if any(errors):
        return errors
    errors += [
        rules.question_error("cloudsql_instance", a),
        rules.question_error("database_name", a),
        rules.choice_error(a["database_auth"], "database_auth", rules.DATABASE_AUTH),
        rules.choice_error(a["database_ip"], "database_ip", rules.DATABASE_IPS),
        rules.question_error("database_ip", a),
    ]
    pool = rules.question_error("max_connections", a)
    errors.append(pool or rules.question_error("max_instances", a))
    if a["database_auth"] in rules.DATABASE_AUTH:
        errors.append(rules.question_error("database_user", a))
    names = {str(e).partition("=")[0] for e in a["secrets"]}
    if a["database_auth"] == "password" and "DB_PASSWORD" not in names:
        errors.append(
            "database_auth: password needs DB_PASSWORD in the function's secrets, "
            "such as DB_PASSWORD=db-password:latest"
        )
    return errors


def load_functions(document: Any, answers: Mapping[str, Any]) -> dict[str, Function]:
    """Every function of a functions.yaml document, checked; raise ProjectError with every
    problem found."""
    entries = document.get("functions") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ProjectError(
            [f"{MANIFEST}: must have a map `functions:` from function names to their settings"]
        )
    errors: list[str] = []
    functions: dict[str, Function] = {}
    for name, entry in entries.items():
        settings = resolve(str(name), entry, answers) if isinstance(entry, dict) else {}
        problems = function_errors(str(name), entry, settings, answers)
        errors += [f"{MANIFEST}: function {str(name)!r}: {p}" for p in problems]
        if not problems:
            functions[str(name)] = Function.from_settings(str(name), applicable(settings))
    seen: dict[str, str] = {}
    for function in functions.values():
        other = seen.setdefault(function.entry_point, function.name)
        if other != function.name:
            errors.append(
                f"{MANIFEST}: function {function.name!r}: entry_point: {function.entry_point} "
                f"is also the entry point of {other!r}; each function needs its own"
            )
    if errors:
        raise ProjectError(errors)
    return functions
