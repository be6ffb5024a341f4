"""What `gcloud functions deploy --gen2` accepts, as a checker for generated commands.

The rules are those of Cloud Functions (2nd gen) in Google's reference (names, limits,
flags and event types), written here a second time, in Python, independently of the
Jinja validators in includes/: each implementation checks the other.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path

import yaml

FUNCTION_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVICE_ACCOUNT = re.compile(
    r"^([a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam|[0-9]+-compute@developer"
    r"|[a-z][a-z0-9-]{4,28}[a-z0-9]@appspot)\.gserviceaccount\.com$"
)
RUNTIMES = {"python311", "python312", "python313", "python314"}
# memory -> vCPU it gets by default
MEMORY = {
    "128Mi": 0.083,
    "256Mi": 0.167,
    "512Mi": 0.333,
    "1Gi": 0.583,
    "2Gi": 1,
    "4Gi": 2,
    "8Gi": 2,
    "16Gi": 4,
    "32Gi": 8,
}
MEMORY_MI = {
    "128Mi": 128,
    "256Mi": 256,
    "512Mi": 512,
    "1Gi": 1024,
    "2Gi": 2048,
    "4Gi": 4096,
    "8Gi": 8192,
    "16Gi": 16384,
    "32Gi": 32768,
}
MAX_MEMORY_MI = {1: 4096, 2: 8192, 4: 16384, 6: 24576, 8: 32768}
MIN_MEMORY_MI = {4: 2048, 6: 4096, 8: 4096}
EVENT_TYPES = {
    "google.cloud.pubsub.topic.v1.messagePublished": set(),
    **{
        f"google.cloud.storage.object.v1.{e}": {"bucket"}
        for e in ("finalized", "deleted", "archived", "metadataUpdated")
    },
    **{
        f"google.cloud.firestore.document.v1.{e}": {"database"}
        for e in ("created", "updated", "deleted", "written")
    },
    "google.cloud.audit.log.v1.written": {"serviceName", "methodName"},
}
RESERVED_ENV = {"FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "K_SERVICE", "K_REVISION", "PORT"}
SECRET = re.compile(r"^(?:projects/[^/]+/secrets/)?[A-Za-z0-9_-]{1,255}:(latest|[1-9][0-9]*)$")
EGRESS = {"private-ranges-only", "all"}
INGRESS = {"all", "internal-only", "internal-and-gclb"}


def split(line: str, command: list[str]) -> tuple[str, dict[str, list[str]]]:
    """Split a printed `gcloud <command> NAME --flag=value ...` into the name and its flags."""
    words = shlex.split(line)
    assert words[:3] == ["gcloud", *command], words[:3]
    assert not words[3].startswith("-"), "the name must come first"
    flags: dict[str, list[str]] = defaultdict(list)
    for word in words[4:]:
        assert word.startswith("--"), f"stray argument {word!r}"
        name, _, value = word.partition("=")
        flags[name].append(value)
    return words[3], dict(flags)


def parse(line: str) -> tuple[str, dict[str, list[str]]]:
    """Split a printed deploy command into the function name and its flags."""
    return split(line, ["functions", "deploy"])


def one(flags: dict[str, list[str]], name: str) -> str:
    values = flags.get(name, [])
    assert len(values) == 1, f"{name} must be given once, not {len(values)} times"
    return values[0]


def cpu_ok(cpu: float) -> bool:
    return 0.08 <= cpu <= 1 or cpu in (2, 4, 6, 8)


def check_resources(flags: dict[str, list[str]], is_http: bool) -> int:
    """Check memory, CPU, concurrency, timeout and instances; return the concurrency."""
    memory = one(flags, "--memory")
    assert memory in MEMORY, f"memory {memory}"
    cpu = float(one(flags, "--cpu")) if "--cpu" in flags else MEMORY[memory]
    assert cpu_ok(cpu), f"cpu {cpu}"
    mi = MEMORY_MI[memory]
    if cpu < 1:
        assert mi <= 1024, f"{memory} needs 1 vCPU or more, not {cpu}"
        assert mi <= 512 or cpu >= 0.5, f"{memory} needs 0.5 vCPU or more, not {cpu}"
    whole = max(1, int(cpu + 0.999))
    assert mi <= MAX_MEMORY_MI[whole], f"{cpu} vCPU allows at most {MAX_MEMORY_MI[whole]}Mi"
    assert mi >= MIN_MEMORY_MI.get(whole, 0), f"{cpu} vCPU needs at least {MIN_MEMORY_MI[whole]}Mi"
    concurrency = int(one(flags, "--concurrency"))
    assert 1 <= concurrency <= 1000
    assert concurrency == 1 or cpu >= 1, f"concurrency {concurrency} needs 1 vCPU, not {cpu}"
    timeout = one(flags, "--timeout")
    assert re.fullmatch(r"[0-9]+s", timeout), timeout
    assert 1 <= int(timeout[:-1]) <= (3600 if is_http else 540), f"timeout {timeout}"
    low, high = int(one(flags, "--min-instances")), int(one(flags, "--max-instances"))
    assert 0 <= low <= high and high >= 1, f"instances {low}..{high}"
    return concurrency


def check_trigger(flags: dict[str, list[str]]) -> bool:
    """Check that there is exactly one trigger, and that its flags fit it; return is_http."""
    triggers = [
        f
        for f in (
            "--trigger-http",
            "--trigger-topic",
            "--trigger-bucket",
            "--trigger-event-filters",
        )
        if f in flags
    ]
    assert len(triggers) == 1, f"exactly one trigger, not {triggers}"
    is_http = triggers == ["--trigger-http"]
    if is_http:
        assert (
            len(
                flags.get("--allow-unauthenticated", [])
                + flags.get("--no-allow-unauthenticated", [])
            )
            == 1
        )
        for flag in (
            "--retry",
            "--trigger-location",
            "--trigger-service-account",
            "--trigger-event-filters-path-pattern",
        ):
            assert flag not in flags, f"{flag} needs an event trigger"
        return True
    assert "--allow-unauthenticated" not in flags and "--no-allow-unauthenticated" not in flags
    assert SERVICE_ACCOUNT.match(one(flags, "--trigger-service-account"))
    if "--retry" in flags:
        assert flags["--retry"] == [""], "--retry takes no value"
    if triggers == ["--trigger-topic"]:
        topic = one(flags, "--trigger-topic")
        assert re.fullmatch(
            r"[a-zA-Z][-._~%+a-zA-Z0-9]{2,254}", topic
        ) and not topic.lower().startswith("goog")
        return False
    filters = dict(f.split("=", 1) for f in flags["--trigger-event-filters"])
    assert len(filters) == len(flags["--trigger-event-filters"]), "a filter is given twice"
    event_type = filters.pop("type")
    assert event_type in EVENT_TYPES, event_type
    patterns = dict(p.split("=", 1) for p in flags.get("--trigger-event-filters-path-pattern", []))
    assert EVENT_TYPES[event_type] <= set(filters), (
        f"{event_type} needs filters {EVENT_TYPES[event_type]}"
    )
    if "firestore" in event_type:
        assert set(patterns) == {"document"}, patterns
        assert len(patterns["document"].split("/")) % 2 == 0, (
            "a document path has an even number of segments"
        )
    assert one(flags, "--trigger-location"), "event triggers name where events come from"
    return False


def check_env_file(path: Path, concurrency: int) -> set[str]:
    """Check an --env-vars-file; return its keys."""
    assert path.is_file(), f"{path} is missing"
    values = yaml.safe_load(path.read_text())
    assert isinstance(values, dict), f"{path.name} must be a map"
    assert len(path.read_bytes()) <= 32 * 1024
    for key, value in values.items():
        assert isinstance(key, str) and key and "=" not in key, f"{path.name}: key {key!r}"
        assert key not in RESERVED_ENV and not key.startswith("X_GOOGLE_"), (
            f"{path.name}: {key} is reserved"
        )
        assert isinstance(value, str), (
            f"{path.name}: {key} must be a string, not {type(value).__name__}"
        )
    if "WORKERS" in values:  # an async function: one event loop takes the whole concurrency
        assert (values["WORKERS"], values.get("CONCURRENCY")) == ("1", str(concurrency)), (
            f"{path.name}: an async function needs WORKERS=1 and CONCURRENCY=the concurrency"
        )
        assert "THREADS" not in values, f"{path.name}: THREADS sizes nothing for an async function"
    else:
        assert values.get("THREADS") == str(concurrency), (
            f"{path.name}: THREADS must equal the concurrency"
        )
    return set(values)


def check_secrets(flags: dict[str, list[str]], env_keys: set[str]) -> None:
    if "--set-secrets" not in flags:
        return
    names, paths = set(), set()
    for spec in one(flags, "--set-secrets").split(","):
        target, _, secret = spec.partition("=")
        assert SECRET.match(secret), f"secret {secret!r}"
        if target.startswith("/"):
            assert re.fullmatch(r"(/[A-Za-z0-9_.-]+){2,}", target), f"mount path {target!r}"
            assert target not in paths, f"{target} mounted twice"
            paths.add(target)
        else:
            assert IDENTIFIER.match(target), f"env name {target!r}"
            assert target not in RESERVED_ENV and not target.startswith("X_GOOGLE_")
            assert target not in env_keys and target not in names, f"{target} set twice"
            names.add(target)


def check_network(flags: dict[str, list[str]]) -> None:
    assert one(flags, "--ingress-settings") in INGRESS
    connector, direct = "--vpc-connector" in flags, "--network" in flags
    assert not (connector and direct), "a connector or direct egress, not both"
    if connector:
        assert one(flags, "--egress-settings") in EGRESS
    else:
        assert "--egress-settings" not in flags
    if direct:
        assert one(flags, "--subnet")
        assert one(flags, "--direct-vpc-egress") in EGRESS
    else:
        assert "--subnet" not in flags and "--direct-vpc-egress" not in flags


def check_deploy_command(line: str, repo: Path) -> dict[str, list[str]]:
    """Assert that `line` is a deploy command the platform accepts; return its flags."""
    name, flags = parse(line)
    assert FUNCTION_NAME.match(name), f"function name {name!r}"
    assert flags.get("--gen2") == [""]
    assert PROJECT_ID.match(one(flags, "--project"))
    assert re.fullmatch(r"[a-z]+-[a-z]+[0-9]", one(flags, "--region"))
    assert one(flags, "--runtime") in RUNTIMES
    assert IDENTIFIER.match(one(flags, "--entry-point"))
    assert one(flags, "--source") == "."
    assert SERVICE_ACCOUNT.match(one(flags, "--service-account"))
    is_http = check_trigger(flags)
    concurrency = check_resources(flags, is_http)
    env_keys = check_env_file(repo / one(flags, "--env-vars-file"), concurrency)
    check_secrets(flags, env_keys)
    check_network(flags)
    return flags


# `gcloud run deploy --function`: Cloud Run's spelling of ingress and VPC egress.
RUN_INGRESS = {"all", "internal", "internal-and-cloud-load-balancing"}
RUN_EGRESS = {"private-ranges-only", "all-traffic"}
# What the Cloud Run route must give, since Cloud Run's defaults differ from the Functions
# API's (concurrency 80 per vCPU, no instance cap): every setting, explicitly.
RUN_REQUIRED = (
    "--project",
    "--region",
    "--source",
    "--function",
    "--base-image",
    "--memory",
    "--cpu",
    "--concurrency",
    "--timeout",
    "--min-instances",
    "--max-instances",
    "--service-account",
    "--ingress",
    "--env-vars-file",
)


def parse_run(line: str) -> tuple[str, dict[str, list[str]]]:
    """Split a printed `gcloud run deploy` command into the service name and its flags."""
    return split(line, ["run", "deploy"])


def check_run_deploy_command(line: str, repo: Path) -> dict[str, list[str]]:
    """Assert that `line` deploys a function through Cloud Run with every setting given."""
    name, flags = parse_run(line)
    assert FUNCTION_NAME.match(name), f"service name {name!r}"
    for flag in RUN_REQUIRED:
        one(flags, flag)
    assert PROJECT_ID.match(one(flags, "--project"))
    assert one(flags, "--source") == "."
    assert IDENTIFIER.match(one(flags, "--function"))
    assert one(flags, "--base-image") in RUNTIMES
    assert flags.get("--automatic-updates") == [""], "automatic base image updates on"
    assert SERVICE_ACCOUNT.match(one(flags, "--service-account"))
    access = flags.get("--allow-unauthenticated", []) + flags.get("--no-allow-unauthenticated", [])
    assert access == [""], "exactly one of --allow-unauthenticated, --no-allow-unauthenticated"
    assert not [f for f in flags if f.startswith(("--trigger", "--retry", "--gen2", "--runtime"))]
    concurrency = check_resources(flags, True)
    env_keys = check_env_file(repo / one(flags, "--env-vars-file"), concurrency)
    check_secrets(flags, env_keys)
    assert one(flags, "--ingress") in RUN_INGRESS
    connector, direct = "--vpc-connector" in flags, "--network" in flags
    assert not (connector and direct), "a connector or direct egress, not both"
    if connector or direct:
        assert one(flags, "--vpc-egress") in RUN_EGRESS
    else:
        assert "--vpc-egress" not in flags
    assert direct == ("--subnet" in flags)
    return flags
