"""Deploy every function of functions.yaml to one environment, with what each one needs.

    python -m tools.deploy ENVIRONMENT [--function NAME] [--dry-run]
    (or `make deploy ENV=<environment> [FUNCTION=<name>] [DRY_RUN=1]`)

For each function: the Pub/Sub topics it publishes to, its trigger (Eventarc, or a
push subscription of the repo's own with retries and a dead-letter topic), the
function itself and, for a scheduler function, its Cloud Scheduler job. Outside
production a function is named <name>-<environment>, keeps no instance warm, and
the repo's own topics are suffixed -<environment> too. The project is
GOOGLE_CLOUD_PROJECT in env.<environment>.yaml. The manifest is checked first:
a setting the platform would refuse stops the deploy before anything runs.
A dry run prints every command, one shell-quoted line each, and needs no gcloud; it
shows the project number, which only gcloud knows, as PROJECT_NUMBER.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import yaml

from tools.commands import CommandError as DeployError
from tools.commands import Plan, Step, gcloud, perform, require_gcloud, run_output, run_tool
from tools.manifest import ROOT, Function, Manifest, load

PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
# Where a deploy writes each function's env file: the environment's variables, its THREADS
# and the topics it publishes to.
BUILD = ".deploy"
TOPICS = ("pubsub", "topics")
SUBSCRIPTIONS = ("pubsub", "subscriptions")
MIN_RETRY_DELAY = "10s"
MAX_RETRY_DELAY = "600s"


class Deployment(Plan):
    """The commands that deploy some functions of the manifest to one environment."""

    def function(self, function: Function, env_file: str) -> None:
        name = self.manifest.function_name(function, self.environment)
        for topic in function.publishes.values():
            self.create(TOPICS, self.topic(topic))
        if function.trigger_type == "scheduler" or function.push_subscription:
            self.create(TOPICS, self.topic(function["pubsub_topic"]))
        if function.push_subscription:
            self.dead_letter_topic(function)
        self.add(Step(self.deploy_command(function, name, env_file)))
        if function.trigger_type == "scheduler":
            self.scheduler_job(function, name)
        if function.push_subscription:
            self.push_subscription(function, name)

    def deploy_command(self, function: Function, name: str, env_file: str) -> tuple[str, ...]:
        f = function
        production = self.environment == "production"
        flags = [
            f"--project={self.project}",
            "--gen2",
            f"--region={f['region']}",
            f"--runtime={self.manifest.answers.get('runtime', 'python313')}",
            "--source=.",
            f"--entry-point={f.entry_point}",
            f"--memory={f['memory']}",
            f"--cpu={f['cpu']}",
            f"--concurrency={f['concurrency']}",
            f"--timeout={f['timeout']}s",
            f"--max-instances={f['max_instances']}",
            f"--service-account={f['service_account']}",
            f"--ingress-settings={f['ingress_settings']}",
        ]
        if f["secrets"]:
            flags.append("--set-secrets=" + ",".join(f["secrets"]))
        if f["vpc"] == "connector":
            flags += [
                f"--vpc-connector={f['vpc_connector']}",
                f"--egress-settings={f['vpc_egress']}",
            ]
        if f["vpc"] == "direct":
            flags += [
                f"--network={f['vpc_network']}",
                f"--subnet={f['vpc_subnet']}",
                f"--direct-vpc-egress={f['vpc_egress']}",
            ]
        flags += self.trigger_flags(f)
        flags += [
            f"--min-instances={f['min_instances'] if production else 0}",
            f"--env-vars-file={env_file}",
            "--quiet",
        ]
        return gcloud("functions", "deploy", name, *flags)

    def trigger_flags(self, f: Function) -> list[str]:
        """Exactly one trigger, where events come from, who delivers them, and retries."""
        if f.trigger_type == "http" or f.push_subscription:
            public = f.trigger_type == "http" and f["allow_unauthenticated"]
            return [
                "--trigger-http",
                "--allow-unauthenticated" if public else "--no-allow-unauthenticated",
            ]
        trigger = f.trigger_type
        prefix = "--trigger-event-filters="
        if trigger in ("pubsub", "scheduler"):
            flags = [f"--trigger-topic={self.topic(f['pubsub_topic'])}"]
        elif trigger == "storage":
            event_type = f"google.cloud.storage.object.v1.{f['storage_event']}"
            flags = [f"{prefix}type={event_type}", f"{prefix}bucket={f['storage_bucket']}"]
        elif trigger == "firestore":
            event_type = f"google.cloud.firestore.document.v1.{f['firestore_event']}"
            flags = [
                f"{prefix}type={event_type}",
                f"{prefix}database={f['firestore_database']}",
                f"--trigger-event-filters-path-pattern=document={f['firestore_document']}",
            ]
        else:
            flags = [
                f"{prefix}type=google.cloud.audit.log.v1.written",
                f"{prefix}serviceName={f['audit_service_name']}",
                f"{prefix}methodName={f['audit_method_name']}",
            ]
        if trigger in ("storage", "firestore", "audit_log"):
            flags.append(f"--trigger-location={f['trigger_location']}")
        flags.append(f"--trigger-service-account={f['trigger_service_account']}")
        if f["retry_on_failure"]:
            flags.append("--retry")
        return flags

    def scheduler_job(self, f: Function, name: str) -> None:
        flags = (
            name,
            f"--project={self.project}",
            f"--location={f['region']}",
            f"--schedule={f['schedule']}",
            f"--time-zone={f['schedule_time_zone']}",
            f"--topic={self.topic(f['pubsub_topic'])}",
            f"--message-body={json.dumps({'job': f.name})}",
            "--quiet",
        )
        where = (f"--project={self.project}", f"--location={f['region']}")
        self.add(
            Step(
                gcloud("scheduler", "jobs", "create", "pubsub", *flags),
                exists=gcloud("scheduler", "jobs", "describe", name, *where),
                update=gcloud("scheduler", "jobs", "update", "pubsub", *flags),
            )
        )

    def dead_letter_topic(self, f: Function) -> None:
        """The dead-letter topic, with a subscription of its own so that nothing on it is lost."""
        topic = self.topic(f["dead_letter_topic"])
        self.create(TOPICS, topic)
        self.create(SUBSCRIPTIONS, topic, f"--topic={topic}")

    def push_subscription(self, f: Function, name: str) -> None:
        """Pub/Sub pushes each message to the function, retries with backoff, then dead-letters it.

        The endpoint ends with the topic's path, from which functions-framework sets the
        CloudEvent's source. The push identity (the trigger service account, which `make setup`
        lets invoke functions) signs each request; the Pub/Sub service agent may publish to the
        dead-letter topic and acknowledge what it moves there.
        """
        project = f"--project={self.project}"
        topic, dead_letter = self.topic(f["pubsub_topic"]), self.topic(f["dead_letter_topic"])
        url = f"https://{f['region']}-{self.project}.cloudfunctions.net/{name}"
        push_identity = f["trigger_service_account"]
        delivery = (
            f"--push-endpoint={url}/projects/{self.project}/topics/{topic}",
            f"--push-auth-service-account={push_identity}",
            f"--push-auth-token-audience={url}",
            f"--ack-deadline={min(600, max(10, f['timeout']))}",
            f"--dead-letter-topic={dead_letter}",
            f"--max-delivery-attempts={f['max_delivery_attempts']}",
            f"--min-retry-delay={MIN_RETRY_DELAY}",
            f"--max-retry-delay={MAX_RETRY_DELAY}",
        )
        self.add(
            Step(
                gcloud(*SUBSCRIPTIONS, "create", name, project, f"--topic={topic}", *delivery),
                exists=gcloud(*SUBSCRIPTIONS, "describe", name, project),
                update=gcloud(*SUBSCRIPTIONS, "update", name, project, *delivery),
            )
        )
        agent = (
            f"serviceAccount:service-{self.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
        )
        self.grant(TOPICS, dead_letter, agent, "roles/pubsub.publisher")
        self.grant(SUBSCRIPTIONS, name, agent, "roles/pubsub.subscriber")


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        raise DeployError(f"{path.name} is missing")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise DeployError(f"{path.name} must be a map of variable names to string values")
    wrong = [k for k, v in values.items() if not isinstance(v, str)]
    if wrong:
        raise DeployError(
            f"{path.name}: values must be strings, quote them: {', '.join(map(str, wrong))}"
        )
    return {str(k): v for k, v in values.items()}


def database_variables(function: Function, base: dict[str, str]) -> dict[str, str]:
    """What database.py connects with in an environment: the answers', unless the
    environment's variables (`base`) name its own instance, database or user."""
    answers = {
        "INSTANCE_CONNECTION_NAME": function["cloudsql_instance"],
        "DB_NAME": function["database_name"],
        "DB_USER": function["database_user"],
        "DB_IAM_AUTH": "true" if function["database_auth"] == "iam" else "false",
        "DB_IP_TYPE": function["database_ip"],
    }
    return {k: base.get(k, v) for k, v in answers.items()}


def write_env_file(
    manifest: Manifest, function: Function, environment: str, base: dict[str, str]
) -> str:
    """The function's env file: the environment's variables, THREADS, its topics and database."""
    variables = {**base, "THREADS": str(function["concurrency"])}
    variables |= {k: manifest.topic(t, environment) for k, t in function.publishes.items()}
    if function["database"] == "cloudsql_postgres":
        variables |= database_variables(function, base)
    path = Path(BUILD) / environment / f"{function.name}.yaml"
    (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
    (ROOT / path).write_text(
        f"# Written by `make deploy ENV={environment}` from env.{environment}.yaml: do not edit.\n"
        + yaml.safe_dump(variables, default_flow_style=False, sort_keys=False)
    )
    return path.as_posix()


def plan(environment: str, only: str | None, dry_run: bool) -> Deployment:
    manifest = load()
    if environment not in manifest.environments:
        raise DeployError(
            f"unknown environment {environment!r}: known environments are "
            f"{', '.join(manifest.environments)}"
        )
    if only is not None and only not in manifest.functions:
        raise DeployError(
            f"no function {only!r} in functions.yaml: it has {', '.join(manifest.functions)}"
        )
    env_path = ROOT / f"env.{environment}.yaml"
    base = read_env_file(env_path)
    project = base.get("GOOGLE_CLOUD_PROJECT", "")
    if not PROJECT_ID.fullmatch(project):
        raise DeployError(
            f"{env_path.name} must set GOOGLE_CLOUD_PROJECT to a project id (got {project!r})"
        )
    functions = [f for f in manifest.functions.values() if only in (None, f.name)]
    number = "PROJECT_NUMBER"
    if not dry_run and any(f.push_subscription for f in functions):
        number = run_output(
            gcloud("projects", "describe", project, "--format=value(projectNumber)")
        )
    result = Deployment(manifest, environment, project, number)
    for function in functions:
        result.function(function, write_env_file(manifest, function, environment, base))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("environment", nargs="?", default="")
    parser.add_argument("--function", default=os.environ.get("FUNCTION") or None)
    parser.add_argument(
        "--dry-run", action="store_true", default=os.environ.get("DRY_RUN", "0") not in ("", "0")
    )
    args = parser.parse_args(argv)

    def deploy() -> int:
        if not args.environment:
            known = ", ".join(load().environments)
            raise DeployError(f"name an environment: make deploy ENV=<environment>, one of {known}")
        if not args.dry_run:
            require_gcloud()
        perform(plan(args.environment, args.function, args.dry_run).steps, "deploy", args.dry_run)
        return 0

    return run_tool("deploy", "nothing was deployed", deploy)


if __name__ == "__main__":
    sys.exit(main())
