"""Deploy every function of functions.yaml to one environment, with what each one needs.

For each function: the function itself, with its trigger (Eventarc, or a push
subscription of the repo's own with retries and a dead-letter topic), the right of the
identity that delivers its events to invoke it (that function only) and, for a scheduler
function, its Cloud Scheduler job. A function of `deploy_api: run` deploys through the Cloud
Run Admin API (`gcloud run deploy --function`, every setting explicit, since its defaults
differ from the Functions API's), and its triggers are resources of their own, created when
missing and updated in place: an Eventarc trigger (Storage, Firestore, audit logs), or the
repo's push subscription (Pub/Sub, Scheduler); `deploy_api: functions` deploys through
`gcloud functions deploy`. The topics and push subscriptions are `gcf setup`'s:
the deploy looks at them first and stops, before changing anything, when one is missing
or a subscription's topic is not the one functions.yaml names (naming both). Outside
production a function is named <name>-<environment>, keeps no instance warm, and the
repo's own topics are suffixed -<environment> too. The project is GOOGLE_CLOUD_PROJECT in
env.<environment>.yaml. The functions are checked first: a setting the platform would
refuse stops the deploy before anything runs. A dry run prints every command as a line of
shell that does what a real run does, and needs no gcloud; it shows the project number,
which only gcloud knows, as PROJECT_NUMBER.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gcf_devkit import rules
from gcf_devkit.cloud._steps import SUBSCRIPTIONS, TOPICS, Plan, Step, gcloud, project_number
from gcf_devkit.project import Function, Project

# The Functions API's ingress and VPC egress values, as `gcloud run deploy` spells them.
RUN_INGRESS = {
    "all": "all",
    "internal-only": "internal",
    "internal-and-gclb": "internal-and-cloud-load-balancing",
}
RUN_EGRESS = {"private-ranges-only": "private-ranges-only", "all": "all-traffic"}


class Deployment(Plan):
    """The commands that deploy some functions of the repo to one environment."""

    def function(self, function: Function, env_file: str) -> None:
        """The function's steps, a unit of their own (the topics it needs are looked at first,
        shared with the other functions)."""
        name = self.project.deployed_name(function, self.environment)
        with self.unit(name):
            self.function_steps(function, name, env_file)

    def url(self, name: str) -> str:
        """A deployed function's URL, when gcloud did not print it."""
        for function in self.project.functions.values():
            if self.project.deployed_name(function, self.environment) == name:
                if function.run and not self.project_number:
                    return ""  # a run.app URL names the project number, unknown here
                return function_url(self, function, name)
        return ""

    def function_steps(self, function: Function, name: str, env_file: str) -> None:
        topics = list(function.publishes.values())
        if function.trigger_type in ("pubsub", "scheduler"):
            topics.append(function.pubsub_topic)
        for topic in topics:
            self.require(TOPICS, self.topic(topic))
        if function.run:
            self.add(Step(self.run_deploy_command(function, name, env_file)))
        else:
            self.add(Step(self.deploy_command(function, name, env_file)))
        if not function.http:
            self.add(Step(self.invoker(function, name)))
        if function.eventarc:
            self.add(self.eventarc_trigger(function, name))
        if function.trigger_type == "scheduler":
            self.scheduler_job(function, name)
        if function.push_subscription:
            self.add(push_subscription(self, function, name, create=False))

    def require(self, kind: tuple[str, ...], name: str) -> None:
        """A resource `gcf setup` makes: the deploy stops, before anything, when it is missing."""
        self.add(
            Step(
                (),
                exists=gcloud(*kind, "describe", name, f"--project={self.cloud_project}"),
                missing=f"{' '.join(kind[1:])[:-1]} {name} is missing: {self.setup_hint}",
            )
        )

    @property
    def setup_hint(self) -> str:
        return f"run `make setup ENV={self.environment}` first (it makes what functions.yaml names)"

    def invoker(self, f: Function, name: str) -> tuple[str, ...]:
        """Let the identity that delivers the function's events invoke it, and nothing else."""
        if f.run:
            return gcloud(
                "run",
                "services",
                "add-iam-policy-binding",
                name,
                f"--project={self.cloud_project}",
                f"--region={f.region}",
                f"--member=serviceAccount:{f.trigger_service_account}",
                "--role=roles/run.invoker",
                "--quiet",
            )
        return gcloud(
            "functions",
            "add-invoker-policy-binding",
            name,
            f"--project={self.cloud_project}",
            f"--region={f.region}",
            f"--member=serviceAccount:{f.trigger_service_account}",
        )

    def deploy_command(self, f: Function, name: str, env_file: str) -> tuple[str, ...]:
        flags = [
            f"--project={self.cloud_project}",
            "--gen2",
            f"--region={f.region}",
            f"--runtime={self.project.runtime}",
            "--source=.",
            f"--entry-point={f.entry_point}",
            *self.resource_flags(f),
            f"--ingress-settings={f.ingress_settings}",
            *self.secret_flags(f),
        ]
        if f.vpc == "connector":
            flags += [f"--vpc-connector={f.vpc_connector}", f"--egress-settings={f.vpc_egress}"]
        if f.vpc == "direct":
            flags += [
                f"--network={f.vpc_network}",
                f"--subnet={f.vpc_subnet}",
                f"--direct-vpc-egress={f.vpc_egress}",
            ]
        flags += [*self.trigger_flags(f), *self.instance_flags(f, env_file)]
        return gcloud("functions", "deploy", name, *flags)

    @staticmethod
    def resource_flags(f: Function) -> list[str]:
        """What each instance has and may take, and who it runs as: the same on both routes."""
        return [
            f"--memory={f.memory}",
            f"--cpu={f.cpu}",
            f"--concurrency={f.concurrency}",
            f"--timeout={f.timeout}s",
            f"--max-instances={f.max_instances}",
            f"--service-account={f.service_account}",
        ]

    @staticmethod
    def secret_flags(f: Function) -> list[str]:
        return ["--set-secrets=" + ",".join(f.secrets)] if f.secrets else []

    def instance_flags(self, f: Function, env_file: str) -> list[str]:
        """Warm instances (production only), the env file, and no prompt: both routes last."""
        production = self.environment == "production"
        return [
            f"--min-instances={f.min_instances if production else 0}",
            f"--env-vars-file={env_file}",
            "--quiet",
        ]

    def run_deploy_command(self, f: Function, name: str, env_file: str) -> tuple[str, ...]:
        """`gcloud run deploy --function` with every setting given: Cloud Run's defaults differ
        from the Functions API's (concurrency 80 per vCPU, not 1; ingress; timeouts)."""
        public = f.http and f.allow_unauthenticated
        flags = [
            f"--project={self.cloud_project}",
            f"--region={f.region}",
            "--source=.",
            f"--function={f.entry_point}",
            f"--base-image={rules.BASE_IMAGES[self.project.runtime]}",
            "--automatic-updates",
            *self.resource_flags(f),
            f"--ingress={RUN_INGRESS[f.ingress_settings]}",
            *self.secret_flags(f),
        ]
        if f.vpc == "connector":
            flags += [
                f"--vpc-connector={f.vpc_connector}",
                f"--vpc-egress={RUN_EGRESS[f.vpc_egress]}",
            ]
        if f.vpc == "direct":
            flags += [
                f"--network={f.vpc_network}",
                f"--subnet={f.vpc_subnet}",
                f"--vpc-egress={RUN_EGRESS[f.vpc_egress]}",
            ]
        flags += [
            "--allow-unauthenticated" if public else "--no-allow-unauthenticated",
            *self.instance_flags(f, env_file),
        ]
        return gcloud("run", "deploy", name, *flags)

    def event_filters(self, f: Function) -> list[str]:
        """An Eventarc trigger's filters: the event type, and what it is about."""
        prefix = "--event-filters="
        flags = [f"{prefix}type={f.event_type}"]
        if f.trigger_type == "storage":
            flags.append(f"{prefix}bucket={f.storage_bucket}")
        elif f.trigger_type == "firestore":
            flags += [
                f"{prefix}database={f.firestore_database}",
                f"--event-filters-path-pattern=document={f.firestore_document}",
                # As the Functions API delivers them: DocumentEventData, which main.py parses.
                "--event-data-content-type=application/protobuf",
            ]
        else:
            flags += [
                f"{prefix}serviceName={f.audit_service_name}",
                f"{prefix}methodName={f.audit_method_name}",
            ]
        return flags

    def eventarc_trigger(self, f: Function, name: str) -> Step:
        """The function's Eventarc trigger, named after it: created when missing, else updated
        in place to what functions.yaml says (never deleted and recreated, which would lose the
        events in between). It delivers as the trigger identity, and retries with backoff."""
        where = (f"--project={self.cloud_project}", f"--location={f.trigger_location}")
        settings = (
            f"--destination-run-service={name}",
            f"--destination-run-region={f.region}",
            *self.event_filters(f),
            f"--service-account={f.trigger_service_account}",
        )
        return Step(
            gcloud("eventarc", "triggers", "create", name, *where, *settings, "--quiet"),
            exists=gcloud("eventarc", "triggers", "describe", name, *where),
            update=gcloud("eventarc", "triggers", "update", name, *where, *settings, "--quiet"),
        )

    def trigger_flags(self, f: Function) -> list[str]:
        """Exactly one trigger, where events come from, who delivers them, and retries."""
        if f.http or f.push_subscription:
            public = f.http and f.allow_unauthenticated
            return [
                "--trigger-http",
                "--allow-unauthenticated" if public else "--no-allow-unauthenticated",
            ]
        prefix = "--trigger-event-filters="
        if f.trigger_type in ("pubsub", "scheduler"):
            flags = [f"--trigger-topic={self.topic(f.pubsub_topic)}"]
        elif f.trigger_type == "storage":
            flags = [f"{prefix}type={f.event_type}", f"{prefix}bucket={f.storage_bucket}"]
        elif f.trigger_type == "firestore":
            flags = [
                f"{prefix}type={f.event_type}",
                f"{prefix}database={f.firestore_database}",
                f"--trigger-event-filters-path-pattern=document={f.firestore_document}",
            ]
        else:
            flags = [
                f"{prefix}type={f.event_type}",
                f"{prefix}serviceName={f.audit_service_name}",
                f"{prefix}methodName={f.audit_method_name}",
            ]
        if f.trigger_type in rules.LOCATED_TRIGGERS:
            flags.append(f"--trigger-location={f.trigger_location}")
        flags.append(f"--trigger-service-account={f.trigger_service_account}")
        if f.retry_on_failure:
            flags.append("--retry")
        return flags

    def scheduler_job(self, f: Function, name: str) -> None:
        flags = (
            name,
            f"--project={self.cloud_project}",
            f"--location={f.region}",
            f"--schedule={f.schedule}",
            f"--time-zone={f.schedule_time_zone}",
            f"--topic={self.topic(f.pubsub_topic)}",
            f"--message-body={json.dumps({'job': f.name})}",
            "--quiet",
        )
        where = (f"--project={self.cloud_project}", f"--location={f.region}")
        self.add(
            Step(
                gcloud("scheduler", "jobs", "create", "pubsub", *flags),
                exists=gcloud("scheduler", "jobs", "describe", name, *where),
                update=gcloud("scheduler", "jobs", "update", "pubsub", *flags),
            )
        )


def push_subscription(plan: Plan, f: Function, name: str, create: bool) -> Step:
    """Pub/Sub pushes each message to the function, retries with backoff, then dead-letters it.

    A sync function's endpoint ends with the topic's path, from which functions-framework
    sets the CloudEvent's source; an async function's asks Cloud Run to deliver CloudEvents
    (rules.push_endpoint). The push identity (the trigger service account, which `gcf deploy`
    lets invoke the function) signs each request. `gcf setup` creates the subscription
    (`create`), lets the Pub/Sub service agent acknowledge what it moves to the dead-letter
    topic, and lets the deployer update it; both update it to what functions.yaml says, and
    stop when it exists with another topic: a subscription's topic cannot change.
    """
    project = f"--project={plan.cloud_project}"
    topic = plan.topic(f.pubsub_topic)
    url = function_url(plan, f, name)
    if f.dead_letter_topic:
        dead_letters: tuple[str, ...] = (
            f"--dead-letter-topic={plan.topic(f.dead_letter_topic)}",
            f"--max-delivery-attempts={f.max_delivery_attempts}",
        )
        cleared: tuple[str, ...] = ()
    else:  # retried with backoff until the message expires
        dead_letters, cleared = (), ("--clear-dead-letter-policy",)
    delivery = (
        "--push-endpoint=" + rules.push_endpoint(f.function_style, url, plan.cloud_project, topic),
        f"--push-auth-service-account={f.trigger_service_account}",
        f"--push-auth-token-audience={url}",
        f"--ack-deadline={rules.ack_deadline(f.timeout)}",
        *dead_letters,
        f"--min-retry-delay={rules.MIN_RETRY_DELAY}",
        f"--max-retry-delay={rules.MAX_RETRY_DELAY}",
    )
    expected = f"projects/{plan.cloud_project}/topics/{topic}"
    return Step(
        gcloud(*SUBSCRIPTIONS, "create", name, project, f"--topic={topic}", *delivery)
        if create
        else (),
        exists=gcloud(*SUBSCRIPTIONS, "describe", name, project, "--format=value(topic)"),
        update=gcloud(*SUBSCRIPTIONS, "update", name, project, *delivery, *cleared),
        expect=expected,
        conflict=(
            f"the push subscription {name} exists with another topic than {expected} "
            f"(functions.yaml's pubsub_topic of {f.name}): delete it, or give the function "
            "another name"
        ),
        missing=f"the push subscription {name} is missing: run `make setup ENV={plan.environment}` first",
    )


def function_url(plan: Plan, f: Function, name: str) -> str:
    """The function's URL, known before it is deployed: cloudfunctions.net through the
    Functions API, the deterministic run.app URL (which names the project number) through
    Cloud Run."""
    if f.run:
        return f"https://{name}-{plan.project_number}.{f.region}.run.app"
    return f"https://{f.region}-{plan.cloud_project}.cloudfunctions.net/{name}"


def database_variables(function: Function, base: dict[str, str]) -> dict[str, str]:
    """What database.py connects with in an environment: the answers', unless the
    environment's variables (`base`) name its own instance, database or user."""
    answers = {
        "INSTANCE_CONNECTION_NAME": function.cloudsql_instance,
        "DB_NAME": function.database_name,
        "DB_USER": function.database_user,
        "DB_IAM_AUTH": "true" if function.database_auth == "iam" else "false",
        "DB_IP_TYPE": function.database_ip,
    }
    return {k: base.get(k, v) for k, v in answers.items()}


def function_variables(
    project: Project, function: Function, environment: str, base: dict[str, str]
) -> dict[str, str]:
    """A function's variables when deployed: the environment's, its server's (THREADS, or
    WORKERS and CONCURRENCY: rules.server_variables), its topics, its database."""
    variables = {**base, **rules.server_variables(function.function_style, function.concurrency)}
    variables |= {k: project.topic(t, environment) for k, t in function.publishes.items()}
    if function.has_database:
        variables |= database_variables(function, base)
    return variables


def write_env_file(
    project: Project, function: Function, environment: str, base: dict[str, str]
) -> str:
    """Write the function's env file under .deploy/; return its path from the repo's root."""
    variables = function_variables(project, function, environment, base)
    path = Path(".deploy") / environment / f"{function.name}.yaml"
    (project.root / path).parent.mkdir(parents=True, exist_ok=True)
    (project.root / path).write_text(
        f"# Written by `make deploy ENV={environment}` from env.{environment}.yaml: do not edit.\n"
        + yaml.safe_dump(variables, default_flow_style=False, sort_keys=False)
    )
    return path.as_posix()


def plan(project: Project, environment: str, only: str | None, dry_run: bool) -> Deployment:
    project.check_environment(environment)
    functions = project.select(only)
    base = project.variables(environment)
    cloud_project = project.cloud_project(environment)
    # Only a run.app URL names the project number (a push subscription's endpoint).
    number = ""
    if any(f.run and f.push_subscription for f in functions):
        number = project_number(cloud_project, project.root, dry_run)
    result = Deployment(project, environment, cloud_project, number)
    for function in functions:
        result.function(function, write_env_file(project, function, environment, base))
    return result
