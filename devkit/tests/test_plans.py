"""The gcloud commands of `gcf deploy` and `gcf setup`, planned (dry runs) for hand-written repos.

Deploy: the exact flags of each function, its env file under .deploy/, the topics, push
subscriptions and scheduler jobs. Setup: every identity gets exactly the roles it needs,
each on the one resource it needs it on; CI's identity provider takes only the
repository's deploy jobs. Then the cost warnings of `gcf check` and `gcf setup`.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from gcf_devkit import rules
from gcf_devkit.cloud import _steps, deploy, setup
from gcf_devkit.cloud.costs import cost_warnings
from gcf_devkit.project import Project, ProjectError

if TYPE_CHECKING:
    from tests.conftest import Repo

Command = tuple[str, ...]

SA = "my-function-86e4-sa@my-project-id.iam.gserviceaccount.com"
TRIGGER_SA = "my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
DEPLOYER = "my-function-86e4-dep-dev@my-project-id.iam.gserviceaccount.com"
PUBSUB_AGENT = "serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
DEAD_LETTER = {
    "trigger_type": "pubsub",
    "pubsub_topic": "jobs",
    "dead_letter_topic": "jobs-dead",
    "max_delivery_attempts": 7,
}
DATABASE = {
    "database": "cloudsql_postgres",
    "cloudsql_instance": "my-project-id:us-central1:orders-db",
    "database_name": "app",
    "database_auth": "iam",
    "database_user": "my-function-86e4-sa@my-project-id.iam",
    "database_ip": "public",
    "max_connections": 100,
    "max_instances": 1,
    "concurrency": 8,
}


def deploy_plan(root: Path, environment: str = "dev", only: str | None = None) -> deploy.Deployment:
    return deploy.plan(Project.load(root), environment, only, dry_run=True)


def env_file(root: Path, environment: str, function: str = "my-function") -> dict[str, str]:
    """The env vars file a deploy plan wrote for a function."""
    return yaml.safe_load((root / ".deploy" / environment / f"{function}.yaml").read_text())


def setup_plan(root: Path, environment: str = "dev") -> setup.Setup:
    return setup.plan(Project.load(root), environment, dry_run=True)


def commands(plan: _steps.Plan) -> list[Command]:
    return [step.command for step in plan.steps]


def deploy_command(plan: _steps.Plan, name: str) -> Command:
    (command,) = [c for c in commands(plan) if c[:4] == ("gcloud", "functions", "deploy", name)]
    return command


def trigger_flags(command: Command) -> list[str]:
    """The flags of a deploy command that say how it is triggered and who may call it."""
    return [f for f in command if f.startswith(("--trigger", "--retry", "--allow", "--no-allow"))]


def grants(plan: _steps.Plan) -> list[tuple[str, str, str, str]]:
    """Every role granted: (kind, resource, member, role); kind "projects" for a project."""
    found = []
    for command in commands(plan):
        if "add-iam-policy-binding" not in command:
            continue
        at = command.index("add-iam-policy-binding")
        flags = dict(f[2:].split("=", 1) for f in command[at + 2 :] if "=" in f)
        found.append((" ".join(command[1:at]), command[at + 1], flags["member"], flags["role"]))
    return found


# -- deploy: the function


def test_an_http_function_deploys_with_exactly_these_flags(repo: Repo) -> None:
    plan = deploy_plan(repo())
    assert commands(plan) == [
        (
            "gcloud",
            "functions",
            "deploy",
            "my-function-dev",
            "--project=my-project-dev",
            "--gen2",
            "--region=us-central1",
            "--runtime=python313",
            "--source=.",
            "--entry-point=my_function",
            "--memory=512Mi",
            "--cpu=1",
            "--concurrency=80",
            "--timeout=60s",
            "--max-instances=100",
            f"--service-account={SA}",
            "--ingress-settings=all",
            "--trigger-http",
            "--no-allow-unauthenticated",
            "--min-instances=0",
            "--env-vars-file=.deploy/dev/my-function.yaml",
            "--quiet",
        )
    ]
    assert plan.steps[0].exists == ()


def test_a_functions_own_settings_reach_its_flags(repo: Repo) -> None:
    entry = {
        "memory": "2Gi",
        "cpu": 2,
        "concurrency": 40,
        "timeout": 3600,
        "min_instances": 2,
        "max_instances": 7,
        "region": "europe-west1",
        "ingress_settings": "internal-only",
        "service_account": "runner@my-project-id.iam.gserviceaccount.com",
    }
    root = repo({"my-function": entry}, answers={"runtime": "python312"})
    command = deploy_command(deploy_plan(root), "my-function-dev")
    for flag in (
        "--memory=2Gi",
        "--cpu=2",
        "--concurrency=40",
        "--timeout=3600s",
        "--max-instances=7",
        "--region=europe-west1",
        "--runtime=python312",
        "--ingress-settings=internal-only",
        "--service-account=runner@my-project-id.iam.gserviceaccount.com",
    ):
        assert flag in command
    # Warm instances in production only.
    assert "--min-instances=0" in command
    production = deploy_command(deploy_plan(root, "production"), "my-function")
    assert "--min-instances=2" in production
    assert "--project=my-project-id" in production
    assert "--env-vars-file=.deploy/production/my-function.yaml" in production


@pytest.mark.parametrize(
    ("allow", "flag"), [(True, "--allow-unauthenticated"), (False, "--no-allow-unauthenticated")]
)
def test_only_a_public_http_function_allows_unauthenticated_calls(
    repo: Repo, allow: bool, flag: str
) -> None:
    command = deploy_command(
        deploy_plan(repo(answers={"allow_unauthenticated": allow})), "my-function-dev"
    )
    assert trigger_flags(command) == ["--trigger-http", flag]


def test_event_functions_never_allow_unauthenticated_calls(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {},
            "listen": {"trigger_type": "pubsub", "pubsub_topic": "external"},
            "worker": DEAD_LETTER,
        },
        answers={"allow_unauthenticated": True},
    )
    plan = deploy_plan(root)
    assert "--allow-unauthenticated" in deploy_command(plan, "my-function-dev")
    assert trigger_flags(deploy_command(plan, "listen-dev")) == [
        "--trigger-topic=external",
        f"--trigger-service-account={TRIGGER_SA}",
    ]
    # A push subscription's function is HTTP, called by the subscription's identity only.
    assert trigger_flags(deploy_command(plan, "worker-dev")) == [
        "--trigger-http",
        "--no-allow-unauthenticated",
    ]
    assert "--ingress-settings=internal-only" in deploy_command(plan, "worker-dev")


@pytest.mark.parametrize(
    ("entry", "flags"),
    [
        (
            {"trigger_type": "pubsub", "pubsub_topic": "external", "retry_on_failure": True},
            ["--trigger-topic=external", f"--trigger-service-account={TRIGGER_SA}", "--retry"],
        ),
        (
            {"trigger_type": "storage", "storage_bucket": "my-uploads", "trigger_location": "eu"},
            [
                "--trigger-event-filters=type=google.cloud.storage.object.v1.finalized",
                "--trigger-event-filters=bucket=my-uploads",
                "--trigger-location=eu",
                f"--trigger-service-account={TRIGGER_SA}",
            ],
        ),
        (
            {
                "trigger_type": "firestore",
                "firestore_document": "users/{userId}",
                "firestore_event": "created",
            },
            [
                "--trigger-event-filters=type=google.cloud.firestore.document.v1.created",
                "--trigger-event-filters=database=(default)",
                "--trigger-event-filters-path-pattern=document=users/{userId}",
                "--trigger-location=us-central1",
                f"--trigger-service-account={TRIGGER_SA}",
            ],
        ),
        (
            {
                "trigger_type": "audit_log",
                "audit_service_name": "bigquery.googleapis.com",
                "audit_method_name": "google.cloud.bigquery.v2.JobService.InsertJob",
            },
            [
                "--trigger-event-filters=type=google.cloud.audit.log.v1.written",
                "--trigger-event-filters=serviceName=bigquery.googleapis.com",
                "--trigger-event-filters=methodName=google.cloud.bigquery.v2.JobService.InsertJob",
                "--trigger-location=global",
                f"--trigger-service-account={TRIGGER_SA}",
            ],
        ),
        (
            {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "*/5 * * * *"},
            ["--trigger-topic=ticks-dev", f"--trigger-service-account={TRIGGER_SA}"],
        ),
    ],
)
def test_event_trigger_flags(repo: Repo, entry: dict[str, Any], flags: list[str]) -> None:
    assert trigger_flags(deploy_command(deploy_plan(repo({"f": entry})), "f-dev")) == flags


def test_the_functions_route_lets_only_the_trigger_identity_invoke_an_event_function(
    repo: Repo,
) -> None:
    entry = {"trigger_type": "pubsub", "pubsub_topic": "external", "region": "europe-west1"}
    plan = deploy_plan(repo({"listen": entry}))
    assert [c for c in commands(plan) if "add-invoker-policy-binding" in c] == [
        (
            "gcloud",
            "functions",
            "add-invoker-policy-binding",
            "listen-dev",
            "--project=my-project-dev",
            "--region=europe-west1",
            f"--member=serviceAccount:{TRIGGER_SA}",
        )
    ]


def test_secrets_and_networks_reach_their_flags(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {
                "secrets": ["API_KEY=api-key:latest", "/etc/secrets/cert=cert:2"],
                "vpc": "connector",
                "vpc_connector": "my-connector",
            },
            "direct": {
                "vpc": "direct",
                "vpc_network": "default",
                "vpc_subnet": "sub",
                "vpc_egress": "all",
            },
        }
    )
    plan = deploy_plan(root)
    own = deploy_command(plan, "my-function-dev")
    assert "--set-secrets=API_KEY=api-key:latest,/etc/secrets/cert=cert:2" in own
    assert "--vpc-connector=my-connector" in own
    assert "--egress-settings=private-ranges-only" in own
    direct = deploy_command(plan, "direct-dev")
    assert direct[4:10] == (
        "--project=my-project-dev",
        "--gen2",
        "--region=us-central1",
        "--runtime=python313",
        "--source=.",
        "--entry-point=direct",
    )
    assert not [f for f in direct if f.startswith(("--set-secrets", "--vpc-connector"))]
    assert [f for f in direct if f.startswith(("--network", "--subnet", "--direct-vpc"))] == [
        "--network=default",
        "--subnet=sub",
        "--direct-vpc-egress=all",
    ]


# -- deploy: the env file of each function


def test_the_env_file_holds_the_environment_threads_and_topics(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {"concurrency": 12, "publishes": {"RECORDS_TOPIC": "records"}},
            "other": {"concurrency": 1, "cpu": "0.5"},
        },
        env={"dev": {"FEATURE": "on"}},
    )
    deploy_plan(root)
    written = (root / ".deploy" / "dev" / "my-function.yaml").read_text()
    # One variable a line, in this order; every value a string (quoted where YAML would read
    # a number or a boolean), as --env-vars-file needs.
    assert written == (
        "# Written by `make deploy ENV=dev` from env.dev.yaml: do not edit.\n"
        "ENVIRONMENT: dev\n"
        "GOOGLE_CLOUD_PROJECT: my-project-dev\n"
        "LOG_LEVEL: DEBUG\n"
        "FEATURE: 'on'\n"
        "THREADS: '12'\n"
        "RECORDS_TOPIC: records-dev\n"
    )
    other = env_file(root, "dev", "other")
    assert (other["THREADS"], "RECORDS_TOPIC" in other) == ("1", False)
    deploy_plan(root, "production")
    production = env_file(root, "production")
    assert (production["THREADS"], production["RECORDS_TOPIC"]) == ("12", "records")
    assert production["GOOGLE_CLOUD_PROJECT"] == "my-project-id"


def test_the_env_file_of_a_function_with_a_database_password(repo: Repo) -> None:
    answers = {**DATABASE, "database_auth": "password", "database_user": "app"}
    root = repo({"my-function": {"secrets": ["DB_PASSWORD=db-password:latest"]}}, answers=answers)
    deploy_plan(root, "production")
    variables = env_file(root, "production")
    assert (variables["DB_IAM_AUTH"], variables["DB_USER"]) == ("false", "app")
    assert "DB_PASSWORD" not in variables  # a secret, set by --set-secrets


def test_the_env_file_of_a_function_with_a_database(repo: Repo) -> None:
    root = repo(answers=DATABASE, env={"dev": {"DB_NAME": "app_dev"}})
    deploy_plan(root)
    assert env_file(root, "dev") == {
        "ENVIRONMENT": "dev",
        "GOOGLE_CLOUD_PROJECT": "my-project-dev",
        "LOG_LEVEL": "DEBUG",
        "DB_NAME": "app_dev",
        "THREADS": "8",
        "INSTANCE_CONNECTION_NAME": "my-project-id:us-central1:orders-db",
        "DB_USER": "my-function-86e4-sa@my-project-id.iam",
        "DB_IAM_AUTH": "true",
        "DB_IP_TYPE": "public",
    }


# -- deploy: topics, push subscriptions, scheduler jobs


def test_a_push_subscription_retries_then_dead_letters(repo: Repo) -> None:
    plan = deploy_plan(repo({"worker": DEAD_LETTER}))
    url = "https://us-central1-my-project-dev.cloudfunctions.net/worker-dev"
    delivery = (
        f"--push-endpoint={url}/projects/my-project-dev/topics/jobs-dev",
        f"--push-auth-service-account={TRIGGER_SA}",
        f"--push-auth-token-audience={url}",
        "--ack-deadline=60",
        "--dead-letter-topic=jobs-dead-dev",
        "--max-delivery-attempts=7",
        "--min-retry-delay=10s",
        "--max-retry-delay=600s",
    )
    where = "--project=my-project-dev"
    subscription = plan.steps[-1]
    # The deploy updates the subscription setup made, and stops when it is missing or has
    # another topic: it never creates one, nor grants anything on it.
    assert subscription.command == ()
    assert subscription.exists == (
        "gcloud",
        "pubsub",
        "subscriptions",
        "describe",
        "worker-dev",
        where,
        "--format=value(topic)",
    )
    assert subscription.expect == "projects/my-project-dev/topics/jobs-dev"
    assert subscription.update == (
        "gcloud",
        "pubsub",
        "subscriptions",
        "update",
        "worker-dev",
        where,
        *delivery,
    )
    assert "make setup ENV=dev" in subscription.missing
    assert "projects/my-project-dev/topics/jobs-dev" in subscription.conflict
    assert grants(plan) == []
    assert [s.exists[1:5] if not s.command else s.command[1:5] for s in plan.steps] == [
        ("pubsub", "topics", "describe", "jobs-dev"),
        ("functions", "deploy", "worker-dev", "--project=my-project-dev"),
        ("functions", "add-invoker-policy-binding", "worker-dev", "--project=my-project-dev"),
        ("pubsub", "subscriptions", "describe", "worker-dev"),
    ]
    # Setup creates it (with its topic) or updates it, and grants on it alone.
    made = setup_plan(repo({"worker": DEAD_LETTER}))
    (created,) = [
        s
        for s in made.steps
        if s.command[1:5] == ("pubsub", "subscriptions", "create", "worker-dev")
    ]
    assert created.command == (
        "gcloud",
        "pubsub",
        "subscriptions",
        "create",
        "worker-dev",
        where,
        "--topic=jobs-dev",
        *delivery,
    )
    assert created.update == subscription.update
    assert created.expect == subscription.expect
    assert {g for g in grants(made) if g[1] in ("worker-dev", "jobs-dead-dev")} == {
        ("pubsub topics", "jobs-dead-dev", PUBSUB_AGENT, "roles/pubsub.publisher"),
        ("pubsub subscriptions", "worker-dev", PUBSUB_AGENT, "roles/pubsub.subscriber"),
        ("pubsub subscriptions", "worker-dev", f"serviceAccount:{DEPLOYER}", "roles/pubsub.editor"),
    }
    dead = next(
        s
        for s in made.steps
        if s.command[1:5] == ("pubsub", "subscriptions", "create", "jobs-dead-dev")
    )
    assert "--topic=jobs-dead-dev" in dead.command


@pytest.mark.parametrize(("timeout", "deadline"), [(5, 10), (60, 60), (540, 540)])
def test_the_ack_deadline_follows_the_timeout(repo: Repo, timeout: int, deadline: int) -> None:
    plan = deploy_plan(repo({"worker": {**DEAD_LETTER, "timeout": timeout}}))
    assert f"--ack-deadline={deadline}" in plan.steps[-1].update


def test_a_push_subscription_in_production_is_not_suffixed(repo: Repo) -> None:
    plan = setup_plan(repo({"worker": DEAD_LETTER}), "production")
    subscription = next(
        c for c in commands(plan) if c[1:5] == ("pubsub", "subscriptions", "create", "worker")
    )
    assert "--topic=jobs" in subscription
    assert "--dead-letter-topic=jobs-dead" in subscription
    assert (
        "--push-endpoint=https://us-central1-my-project-id.cloudfunctions.net/worker"
        "/projects/my-project-id/topics/jobs"
    ) in subscription


def test_the_scheduler_job(repo: Repo) -> None:
    entry = {
        "trigger_type": "scheduler",
        "pubsub_topic": "ticks",
        "schedule": "*/5 * * * *",
        "schedule_time_zone": "Europe/Paris",
    }
    plan = deploy_plan(repo({"tick": entry}))
    assert [s.exists[1:5] if not s.command else s.command[1:5] for s in plan.steps] == [
        ("pubsub", "topics", "describe", "ticks-dev"),
        ("functions", "deploy", "tick-dev", "--project=my-project-dev"),
        ("functions", "add-invoker-policy-binding", "tick-dev", "--project=my-project-dev"),
        ("scheduler", "jobs", "create", "pubsub"),
    ]
    job = plan.steps[-1]
    flags = (
        "tick-dev",
        "--project=my-project-dev",
        "--location=us-central1",
        "--schedule=*/5 * * * *",
        "--time-zone=Europe/Paris",
        "--topic=ticks-dev",
        '--message-body={"job": "tick"}',
        "--quiet",
    )
    assert job.command == ("gcloud", "scheduler", "jobs", "create", "pubsub", *flags)
    assert job.update == ("gcloud", "scheduler", "jobs", "update", "pubsub", *flags)
    assert job.exists == (
        "gcloud",
        "scheduler",
        "jobs",
        "describe",
        "tick-dev",
        "--project=my-project-dev",
        "--location=us-central1",
    )
    # The dry run's line does both: update when the job exists, create when it does not.
    assert job.line() == (
        "if gcloud scheduler jobs describe tick-dev --project=my-project-dev "
        "--location=us-central1 >/dev/null 2>&1; then gcloud scheduler jobs update pubsub "
        "tick-dev --project=my-project-dev --location=us-central1 '--schedule=*/5 * * * *' "
        '--time-zone=Europe/Paris --topic=ticks-dev \'--message-body={"job": "tick"}\' '
        "--quiet; else gcloud scheduler jobs create pubsub tick-dev --project=my-project-dev "
        "--location=us-central1 '--schedule=*/5 * * * *' --time-zone=Europe/Paris "
        '--topic=ticks-dev \'--message-body={"job": "tick"}\' --quiet; fi'
    )


def test_one_function_only(repo: Repo) -> None:
    root = repo({"my-function": {}, "second": {}})
    plan = deploy_plan(root, only="second")
    assert [c[3] for c in commands(plan)] == ["second-dev"]
    assert not (root / ".deploy" / "dev" / "my-function.yaml").exists()
    with pytest.raises(ProjectError, match=r"no function 'third' in functions\.yaml"):
        deploy_plan(root, only="third")


def test_an_unknown_environment_stops_before_anything_is_written(repo: Repo) -> None:
    root = repo()
    with pytest.raises(ProjectError, match="unknown environment 'qa'"):
        deploy_plan(root, "qa")
    assert not (root / ".deploy").exists()


# -- setup


def test_the_apis_of_an_http_repo(repo: Repo) -> None:
    plan = setup_plan(repo())  # answers made before deploy_api: the Cloud Functions API
    assert commands(plan)[0] == (
        "gcloud",
        "services",
        "enable",
        "cloudfunctions.googleapis.com",
        *setup.APIS,
        "--project=my-project-dev",
    )
    # Through Cloud Run only, the Cloud Functions API is not enabled.
    run_only = setup_plan(repo(answers={"deploy_api": "run"}))
    assert commands(run_only)[0][3:-1] == setup.APIS


def test_the_apis_follow_what_the_functions_use(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {"secrets": ["K=k:1"], "roles": ["roles/bigquery.dataEditor"]},
            "tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"},
            "up": {"trigger_type": "storage", "storage_bucket": "my-uploads"},
            "doc": {"trigger_type": "firestore", "firestore_document": "users/{id}"},
            "net": {"vpc": "connector", "vpc_connector": "conn"},
        },
        answers={"billing_account": "01ABCD-23EF45-6789AB", "monthly_budget": 50},
    )
    enabled = commands(setup_plan(root))[0][3:-1]
    assert list(enabled) == [
        "cloudfunctions.googleapis.com",
        *setup.APIS,
        "eventarc.googleapis.com",
        "pubsub.googleapis.com",
        "cloudscheduler.googleapis.com",
        "storage.googleapis.com",
        "firestore.googleapis.com",
        "secretmanager.googleapis.com",
        "vpcaccess.googleapis.com",
        "billingbudgets.googleapis.com",
        "bigquery.googleapis.com",
    ]


def test_topics_of_an_http_repo_need_pub_sub(repo: Repo) -> None:
    enabled = commands(setup_plan(repo({"my-function": {"publishes": {"OUT": "records"}}})))[0]
    assert enabled[-3:] == (
        "eventarc.googleapis.com",
        "pubsub.googleapis.com",
        "--project=my-project-dev",
    )


def test_the_runtime_identity_publishes_to_its_own_topics_only(repo: Repo) -> None:
    root = repo({"my-function": {"publishes": {"RECORDS_TOPIC": "records", "AUDIT": "audit"}}})
    plan = setup_plan(root)
    member = f"serviceAccount:{SA}"
    assert [g for g in grants(plan) if g[2] == member] == [
        ("pubsub topics", "records-dev", member, "roles/pubsub.publisher"),
        ("pubsub topics", "audit-dev", member, "roles/pubsub.publisher"),
    ]
    assert (
        "gcloud",
        "pubsub",
        "topics",
        "add-iam-policy-binding",
        "records-dev",
        "--project=my-project-dev",
        f"--member={member}",
        "--role=roles/pubsub.publisher",
        "--quiet",
    ) in commands(plan)
    production = setup_plan(root, "production")
    assert ("pubsub topics", "records", member, "roles/pubsub.publisher") in grants(production)


def test_a_secrets_accessor_role_is_on_that_secret_only(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {
                "secrets": [
                    "API_KEY=api-key:latest",
                    "SHARED=projects/other-project/secrets/shared:2",
                ]
            }
        }
    )
    plan = setup_plan(root)
    member = f"serviceAccount:{SA}"
    accessor = "roles/secretmanager.secretAccessor"
    assert [g for g in grants(plan) if g[3] == accessor] == [
        ("secrets", "api-key", member, accessor),
        ("secrets", "shared", member, accessor),
    ]
    assert (
        "gcloud",
        "secrets",
        "add-iam-policy-binding",
        "shared",
        "--project=other-project",
        f"--member={member}",
        f"--role={accessor}",
        "--quiet",
    ) in commands(plan)
    created = [c for c in commands(plan) if c[1:3] == ("secrets", "create")]
    assert created == [
        (
            "gcloud",
            "secrets",
            "create",
            "api-key",
            "--project=my-project-dev",
            "--replication-policy=automatic",
        )
    ]
    assert any(n.startswith("secret api-key: give it a value once") for n in plan.notes)


def test_the_deployer_acts_as_each_functions_accounts_only(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {},
            "worker": {
                **DEAD_LETTER,
                "service_account": "worker@my-project-id.iam.gserviceaccount.com",
            },
            "tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"},
        }
    )
    plan = setup_plan(root)
    deployer = f"serviceAccount:{DEPLOYER}"
    acts_as = [g for g in grants(plan) if g[3] == "roles/iam.serviceAccountUser"]
    # Each function's own account (tick's made for it), then the trigger account.
    assert acts_as == [
        ("iam service-accounts", account, deployer, "roles/iam.serviceAccountUser")
        for account in (
            SA,
            "worker@my-project-id.iam.gserviceaccount.com",
            rules.function_account("my-function", "my-project-id", "tick"),
            TRIGGER_SA,
        )
    ]
    assert [g[3] for g in grants(plan) if g[0] == "projects" and g[2] == deployer] == [
        "roles/cloudfunctions.developer",
        "roles/cloudscheduler.admin",
        f"projects/my-project-dev/roles/{setup.INVOKER_ADMIN}",
    ]


@pytest.mark.parametrize(
    ("functions", "roles"),
    [
        ({"my-function": {}}, ["roles/cloudfunctions.developer"]),
        (
            {"my-function": {"publishes": {"OUT": "records"}}},
            ["roles/cloudfunctions.developer"],
        ),
        (
            {"my-function": {"allow_unauthenticated": True}},
            [
                "roles/cloudfunctions.developer",
                "projects/my-project-dev/roles/gcfTemplateInvokerAdmin",
            ],
        ),
    ],
)
def test_the_deployers_project_roles(
    repo: Repo, functions: dict[str, Any], roles: list[str]
) -> None:
    plan = setup_plan(repo(functions))
    deployer = f"serviceAccount:{DEPLOYER}"
    assert [g[3] for g in grants(plan) if g[0] == "projects" and g[2] == deployer] == roles


def test_no_role_is_granted_project_wide_but_these(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {"publishes": {"OUT": "records"}, "secrets": ["K=k:1"]},
            "worker": DEAD_LETTER,
            "up": {"trigger_type": "storage", "storage_bucket": "my-uploads"},
            "doc": {"trigger_type": "firestore", "firestore_document": "users/{id}"},
            "rows": {"roles": [{"role": "roles/bigquery.dataEditor", "dataset": "pipeline"}]},
        }
    )
    plan = setup_plan(root)
    on_project = {(g[2], g[3]) for g in grants(plan) if g[0] == "projects"}
    gcs_agent = "serviceAccount:service-PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com"
    assert on_project == {
        (f"serviceAccount:{TRIGGER_SA}", "roles/eventarc.eventReceiver"),
        (f"serviceAccount:{DEPLOYER}", "roles/cloudfunctions.developer"),
        (f"serviceAccount:{DEPLOYER}", f"projects/my-project-dev/roles/{setup.INVOKER_ADMIN}"),
        (gcs_agent, "roles/pubsub.publisher"),
        # Limited by a condition to one database and one dataset, each to its function's
        # own identity:
        (f"serviceAccount:{own('doc')}", "roles/datastore.user"),
        (f"serviceAccount:{own('rows')}", "roles/bigquery.dataEditor"),
    }
    assert conditions(plan) == {
        ("roles/datastore.user", "only (default) (Firestore)"): (
            'resource.name == "projects/my-project-dev/databases/(default)" || '
            'resource.name.startsWith("projects/my-project-dev/databases/(default)/")'
        ),
        ("roles/bigquery.dataEditor", "only pipeline (BigQuery)"): (
            'resource.name == "projects/my-project-dev/datasets/pipeline" || '
            'resource.name.startsWith("projects/my-project-dev/datasets/pipeline/")'
        ),
    }
    assert ("pubsub topics", "jobs-dead-dev", PUBSUB_AGENT, "roles/pubsub.publisher") in grants(
        plan
    )
    assert (
        "storage buckets",
        "gs://my-uploads",
        f"serviceAccount:{own('up')}",
        "roles/storage.objectViewer",
    ) in grants(plan)
    bucket = next(s for s in plan.steps if s.command[1:4] == ("storage", "buckets", "create"))
    assert bucket.command == (
        "gcloud",
        "storage",
        "buckets",
        "create",
        "gs://my-uploads",
        "--project=my-project-dev",
        "--location=us-central1",
        "--uniform-bucket-level-access",
    )


def test_an_http_repo_has_no_trigger_account(repo: Repo) -> None:
    plan = setup_plan(repo())
    created = [c[4] for c in commands(plan) if c[1:4] == ("iam", "service-accounts", "create")]
    assert created == ["my-function-86e4-sa", "my-function-86e4-dep-dev"]
    assert plan.notes == []
    assert (
        "gcloud",
        "projects",
        "add-iam-policy-binding",
        "my-project-dev",
        f"--member=serviceAccount:{DEPLOYER}",
        "--role=roles/cloudfunctions.developer",
        "--condition=None",
        "--quiet",
    ) in commands(plan)


def test_the_accounts_are_created_once_and_google_managed_ones_never(repo: Repo) -> None:
    compute = "123456789012-compute@developer.gserviceaccount.com"
    root = repo(
        {
            "my-function": {},
            "second": {"service_account": compute},
            "worker": DEAD_LETTER,
            "listen": {"trigger_type": "pubsub", "pubsub_topic": "external"},
        }
    )
    plan = setup_plan(root)
    created = [s for s in plan.steps if s.command[1:4] == ("iam", "service-accounts", "create")]
    assert [s.command[4:6] for s in created] == [
        ("my-function-86e4-sa", "--project=my-project-id"),
        ("my-function-2955-worker", "--project=my-project-id"),
        ("my-function-86e4-trg", "--project=my-project-id"),
        ("my-function-1353-listen", "--project=my-project-id"),
        ("my-function-86e4-dep-dev", "--project=my-project-id"),
    ]
    assert created[0].exists == (
        "gcloud",
        "iam",
        "service-accounts",
        "describe",
        SA,
        "--project=my-project-id",
    )
    assert f"{compute} is managed by Google: not created" in plan.notes


def test_the_gitlab_provider_takes_protected_refs_only(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOSITORY_ID", "42")
    root = repo(answers={"ci_provider": "gitlab_ci", "repository": "group/sub/my-function"})
    plan = setup_plan(root)
    provider = next(
        s
        for s in plan.steps
        if s.command[1:5] == ("iam", "workload-identity-pools", "providers", "create-oidc")
    )
    assert "--workload-identity-pool=gitlab" in provider.command
    assert "--issuer-uri=https://gitlab.com" in provider.command
    assert (
        '--attribute-condition=assertion.project_id=="42" && assertion.ref_protected=="true" && '
        '((assertion.environment=="dev") || '
        '(assertion.environment=="production" && assertion.ref_type=="tag"))'
    ) in provider.command
    member = next(g[2] for g in grants(plan) if g[3] == "roles/iam.workloadIdentityUser")
    assert member.endswith("/attribute.deploy/42/dev")


def test_an_existing_pool_is_found(repo: Repo) -> None:
    plan = setup_plan(repo())
    pool = next(
        s for s in plan.steps if s.command[1:4] == ("iam", "workload-identity-pools", "create")
    )
    assert "--location=global" in pool.exists


@pytest.mark.parametrize("provider", ["none", "cloud_build"])
def test_without_a_ci_identity_provider(repo: Repo, provider: str) -> None:
    plan = setup_plan(repo(answers={"ci_provider": provider}))
    assert not [c for c in commands(plan) if "workload-identity-pools" in c]
    assert plan.ci_values() == []
    build = {
        ("projects", "my-project-dev", f"serviceAccount:{DEPLOYER}", role)
        for role in ("roles/cloudbuild.builds.builder", "roles/logging.logWriter")
    }
    assert (build <= set(grants(plan))) is (provider == "cloud_build")


@pytest.mark.parametrize("provider", ["github_actions", "gitlab_ci"])
def test_without_a_repository_answer_no_ci_identity_is_set_up(repo: Repo, provider: str) -> None:
    """An identity for no repository would take no CI's tokens (its condition needs the
    repository's id): CI is set up by the first setup once the answers name the repository."""
    plan = setup_plan(repo(answers={"ci_provider": provider, "repository": None}))
    assert [c for c in commands(plan) if "workload-identity-pools" in c] == []
    assert [g for g in grants(plan) if g[3] == "roles/iam.workloadIdentityUser"] == []
    assert plan.ci_values() == []


def test_a_bucket_is_created_where_its_events_come_from(repo: Repo) -> None:
    entry = {"trigger_type": "storage", "storage_bucket": "my-uploads", "trigger_location": "eu"}
    plan = setup_plan(repo({"up": entry}))
    (bucket,) = [c for c in commands(plan) if c[1:4] == ("storage", "buckets", "create")]
    assert "--location=eu" in bucket


def test_the_database_identity(repo: Repo) -> None:
    plan = setup_plan(repo(answers=DATABASE))
    member = f"serviceAccount:{SA}"
    assert [g for g in grants(plan) if g[2] == member] == [
        ("projects", "my-project-id", member, "roles/cloudsql.client"),
        ("projects", "my-project-id", member, "roles/cloudsql.instanceUser"),
    ]
    user = next(s for s in plan.steps if s.command[1:4] == ("sql", "users", "create"))
    assert user.command[4:] == (
        "my-function-86e4-sa@my-project-id.iam",
        "--instance=orders-db",
        "--type=cloud_iam_service_account",
        "--project=my-project-id",
    )


def test_a_budget_alerts_the_billing_admins_and_a_topic(repo: Repo) -> None:
    root = repo(answers={"billing_account": "01ABCD-23EF45-6789AB", "monthly_budget": 50})
    plan = setup_plan(root)
    assert commands(plan)[-1] == (
        "gcloud",
        "billing",
        "budgets",
        "create",
        "--billing-account=01ABCD-23EF45-6789AB",
        "--display-name=my-project-dev monthly budget",
        "--budget-amount=50",
        "--filter-projects=projects/my-project-dev",
        "--notifications-rule-pubsub-topic=projects/my-project-dev/topics/budget-alerts",
        "--threshold-rule=percent=0.5",
        "--threshold-rule=percent=0.8",
        "--threshold-rule=percent=1.0",
        "--threshold-rule=percent=1.0,basis=forecasted-spend",
    )
    assert (
        "gcloud",
        "pubsub",
        "topics",
        "create",
        "budget-alerts",
        "--project=my-project-dev",
    ) in commands(plan)
    assert not [c for c in commands(setup_plan(repo())) if "budgets" in c]


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({"billing_account": "nope"}, "billing_account: must be empty or a billing account id"),
        ({"monthly_budget": 50}, "monthly_budget: a budget needs billing_account"),
        ({"monthly_budget": -1}, "monthly_budget: must be a whole amount"),
    ],
)
def test_bad_cost_answers_stop_setup(repo: Repo, answers: dict[str, Any], error: str) -> None:
    with pytest.raises(_steps.CommandError) as info:
        setup_plan(repo(answers=answers))
    message = str(info.value)
    assert message.startswith(f".copier-answers.yml: {error}")
    assert message.endswith("(change it with `copier update --data KEY=VALUE`)")


def test_setup_refuses_an_unknown_environment(repo: Repo) -> None:
    with pytest.raises(ProjectError, match="unknown environment 'qa'"):
        setup_plan(repo(), "qa")


# -- costs


def test_warm_instances_in_production_are_a_warning(repo: Repo) -> None:
    root = repo({"my-function": {"min_instances": 2, "cpu": "1", "memory": "1Gi"}, "cold": {}})
    assert cost_warnings(Project.load(root)) == [
        "cost: my-function keeps 2 instance(s) warm in production (1Gi, 1 vCPU each): they spare "
        "its callers cold starts, and are billed around the clock, busy or idle. Set "
        "min_instances: 0 in functions.yaml to pay only for requests."
    ]
    assert cost_warnings(Project.load(repo())) == []


@pytest.mark.parametrize(("max_instances", "warned"), [(5, False), (6, True)])
def test_environments_sharing_a_database_may_overfill_it(
    repo: Repo, max_instances: int, warned: bool
) -> None:
    root = repo(answers={**DATABASE, "max_instances": max_instances})
    warnings = cost_warnings(Project.load(root))
    if not warned:
        assert warnings == []
        return
    assert warnings == [
        "database: dev, production share the Cloud SQL instance my-project-id:us-central1:orders-db: "
        f"their pools may hold {2 * max_instances * 10} connections at once, above its "
        "max_connections (100). Give dev an instance of its own (INSTANCE_CONNECTION_NAME in "
        "env.dev.yaml), or raise max_connections."
    ]


@pytest.mark.parametrize(("max_instances", "warned"), [(2, False), (3, True)])
def test_the_smallest_max_connections_of_a_shared_instance_counts(
    repo: Repo, max_instances: int, warned: bool
) -> None:
    """Two functions (of 20 and 30 connections a dev and a production instance each) share
    one Cloud SQL instance that one says holds 100 connections and the other 200."""
    root = repo(
        {
            "my-function": {"max_instances": max_instances, "max_connections": 100},
            "second": {"max_instances": max_instances, "max_connections": 200},
        },
        answers=DATABASE,
    )
    warnings = cost_warnings(Project.load(root))
    assert len(warnings) == int(warned)
    if warned:
        assert (
            "their pools may hold 120 connections at once, above its max_connections (100)"
            in warnings[0]
        )


def test_an_environment_with_its_own_database_instance_is_not_warned(repo: Repo) -> None:
    own = {"INSTANCE_CONNECTION_NAME": "my-project-id:us-central1:dev-db"}
    root = repo(answers={**DATABASE, "max_instances": 10}, env={"dev": own})
    assert cost_warnings(Project.load(root)) == []


def test_topics_are_setups_and_the_deploy_requires_them(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {"publishes": {"RECORDS_TOPIC": "records"}},
            "second": {"publishes": {"RECORDS_TOPIC": "records", "OTHER": "other"}},
            "listen": {"trigger_type": "pubsub", "pubsub_topic": "external"},
        }
    )
    plan = deploy_plan(root)
    assert not [c for c in commands(plan) if c[1:4] == ("pubsub", "topics", "create")]
    required = [s for s in plan.steps if not s.command]
    assert [s.exists[4] for s in required] == ["records-dev", "other-dev", "external"]
    assert required[0].exists == (
        "gcloud",
        "pubsub",
        "topics",
        "describe",
        "records-dev",
        "--project=my-project-dev",
    )
    assert required[0].missing.startswith("topic records-dev is missing: run `make setup ENV=dev`")
    made = setup_plan(root)
    created = [c[4] for c in commands(made) if c[1:4] == ("pubsub", "topics", "create")]
    assert created == ["records-dev", "other-dev", "external"]


def test_a_deploy_looks_at_nothing_but_gcloud_for_the_project_number_never(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        asked.append(list(command))
        return subprocess.CompletedProcess(command, 0, stdout="123456789012\n", stderr="")

    monkeypatch.setattr("gcf_devkit.cloud._steps.subprocess.run", fake_run)
    deploy.plan(Project.load(repo({"worker": DEAD_LETTER})), "dev", None, dry_run=False)
    assert asked == []


def test_a_dry_run_prints_one_shell_line_per_step_checks_first(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo(
        {"tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"}}
    )
    plan = deploy_plan(root)
    _steps.perform(plan.steps, "deploy", True, root)
    lines = capsys.readouterr().out.splitlines()
    checks = [s.check_line() for s in plan.steps if s.checked]
    assert lines == checks + [s.line() for s in plan.steps if s.line()]
    assert lines[0] == (
        "gcloud pubsub topics describe ticks-dev --project=my-project-dev >/dev/null 2>&1 || "
        '{ echo "topic ticks-dev is missing: run \\`make setup ENV=dev\\` first (it makes what '
        'functions.yaml names)" >&2; exit 1; }'
    )
    assert lines[-1].startswith("if gcloud scheduler jobs describe tick-dev ")
    assert "'--schedule=0 * * * *'" in lines[-1]


def test_the_invoker_admin_role_holds_four_permissions(repo: Repo) -> None:
    plan = setup_plan(repo({"worker": DEAD_LETTER}))
    (role,) = [s for s in plan.steps if s.command[1:4] == ("iam", "roles", "create")]
    assert (
        "--permissions=cloudfunctions.functions.getIamPolicy,cloudfunctions.functions.setIamPolicy,"
        "run.services.getIamPolicy,run.services.setIamPolicy"
    ) in role.command
    assert role.update[1:5] == ("iam", "roles", "update", setup.INVOKER_ADMIN)


def conditions(plan: _steps.Plan) -> dict[tuple[str, str], str]:
    """The conditions of project grants: (role, title) -> expression."""
    found = {}
    for command in commands(plan):
        flag = next((f for f in command if f.startswith("--condition=expression=")), "")
        if flag:
            expression, _, title = flag.removeprefix("--condition=expression=").rpartition(
                ",title="
            )
            role = next(f for f in command if f.startswith("--role=")).removeprefix("--role=")
            found[(role, title)] = expression
    return found


def test_scoped_roles_are_granted_on_their_resource_which_setup_creates(repo: Repo) -> None:
    roles = [
        {"role": "roles/storage.objectUser", "bucket": "state-bucket"},
        {"role": "roles/pubsub.subscriber", "topic": "records"},
        {"role": "roles/secretmanager.secretAccessor", "secret": "shared-key"},
        {"role": "roles/bigquery.dataEditor", "dataset": "pipeline"},
    ]
    root = repo({"my-function": {"roles": roles, "publishes": {"OUT": "records"}}})
    plan = setup_plan(root)
    member = f"serviceAccount:{SA}"
    assert [g for g in grants(plan) if g[2] == member] == [
        ("pubsub topics", "records-dev", member, "roles/pubsub.publisher"),
        ("storage buckets", "gs://state-bucket", member, "roles/storage.objectUser"),
        ("pubsub topics", "records-dev", member, "roles/pubsub.subscriber"),
        ("secrets", "shared-key", member, "roles/secretmanager.secretAccessor"),
        ("projects", "my-project-dev", member, "roles/bigquery.dataEditor"),
    ]
    buckets = [c[4] for c in commands(plan) if c[1:4] == ("storage", "buckets", "create")]
    assert buckets == ["gs://state-bucket"]
    (dataset,) = [s for s in plan.steps if s.command[:1] == ("bq",)]
    assert dataset.command == (
        "bq",
        "--project_id=my-project-dev",
        "--location=us-central1",
        "mk",
        "--dataset",
        "--description=gcf-template: acme/my-function, dev",
        "my-project-dev:pipeline",
    )
    assert dataset.exists == (
        "bq",
        "--project_id=my-project-dev",
        "show",
        "--dataset",
        "my-project-dev:pipeline",
    )


def test_the_dataset_is_made_where_bigquery_location_says(repo: Repo) -> None:
    root = repo(
        {"my-function": {"roles": [{"role": "roles/bigquery.dataUser", "dataset": "d"}]}},
        env={"dev": {"BIGQUERY_LOCATION": "EU"}},
    )
    (dataset,) = [s for s in setup_plan(root).steps if s.command[:1] == ("bq",)]
    assert "--location=EU" in dataset.command


def test_each_environment_gets_its_own_deployer_marked_as_this_repos(repo: Repo) -> None:
    root = repo(answers={"environments": ["dev", "staging", "production"]})
    for environment, tag in (("dev", "dev"), ("staging", "stg"), ("production", "prd")):
        plan = setup_plan(root, environment)
        deployer = f"my-function-86e4-dep-{tag}@my-project-id.iam.gserviceaccount.com"
        (step,) = [
            s
            for s in plan.steps
            if s.command[1:5] == ("iam", "service-accounts", "create", deployer.partition("@")[0])
        ]
        owner = f"gcf-template: acme/my-function, {environment}"
        assert f"--description={owner}" in step.command
        assert step.exists[-1] == "--format=value(description)"
        assert step.expect == owner
        assert (
            step.conflict == f"{deployer} exists and is not this repo's deployer for {environment}"
        )
        members = {
            g[2] for g in grants(plan) if g[2].startswith("serviceAccount:my-function-86e4-dep")
        }
        assert members == {f"serviceAccount:{deployer}"}


def test_the_github_provider_takes_each_ci_environments_jobs_for_its_own_deployer(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOSITORY_ID", "123456")
    root = repo(answers={"environments": ["dev", "staging", "production"]})
    plan = setup_plan(root)
    provider = next(
        s
        for s in plan.steps
        if s.command[1:5] == ("iam", "workload-identity-pools", "providers", "create-oidc")
    )
    condition = next(f for f in provider.command if f.startswith("--attribute-condition="))
    assert condition == (
        '--attribute-condition=assertion.repository_id=="123456" && '
        '((assertion.environment=="dev") || '
        '(assertion.environment=="production" && assertion.ref_type=="tag"))'
    )
    assert (
        "--attribute-mapping=google.subject=assertion.sub,attribute.repository=assertion.repository,"
        'attribute.deploy=assertion.repository_id+"/"+assertion.environment'
    ) in provider.command
    assert provider.command[5:9] == (
        "my-function-86e4",
        "--project=my-project-dev",
        "--location=global",
        "--workload-identity-pool=github",
    )
    assert "--issuer-uri=https://token.actions.githubusercontent.com" in provider.command
    assert provider.update[1:5] == ("iam", "workload-identity-pools", "providers", "update-oidc")
    assert condition in provider.update
    assert provider.expect == "gcf-template: acme/my-function"
    assert "--description=gcf-template: acme/my-function" in provider.command
    pool = "principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/github"
    assert [g for g in grants(plan) if g[3] == "roles/iam.workloadIdentityUser"] == [
        (
            "iam service-accounts",
            DEPLOYER,
            f"{pool}/attribute.deploy/123456/dev",
            "roles/iam.workloadIdentityUser",
        )
    ]
    production = setup_plan(root, "production")
    deployer = "my-function-86e4-dep-prd@my-project-id.iam.gserviceaccount.com"
    assert [g for g in grants(production) if g[3] == "roles/iam.workloadIdentityUser"] == [
        (
            "iam service-accounts",
            deployer,
            f"{pool}/attribute.deploy/123456/production",
            "roles/iam.workloadIdentityUser",
        )
    ]
    # Staging is deployed by hand: no CI job may act as its deployer.
    staging = setup_plan(root, "staging")
    assert not [g for g in grants(staging) if g[3] == "roles/iam.workloadIdentityUser"]
    assert plan.ci_values() == [
        "WORKLOAD_IDENTITY_PROVIDER=projects/PROJECT_NUMBER/locations/global/"
        "workloadIdentityPools/github/providers/my-function-86e4",
        f"DEPLOYER_SERVICE_ACCOUNT={DEPLOYER}",
    ]


def test_the_repository_id_is_looked_up_or_given(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPOSITORY_ID", raising=False)
    assert setup.repository_id("github_actions", "acme/x", dry_run=True) == "REPOSITORY_ID"
    monkeypatch.setenv("REPOSITORY_ID", "12a")
    with pytest.raises(
        setup.CommandError, match="REPOSITORY_ID: must be the repository's numeric id"
    ):
        setup.repository_id("github_actions", "acme/x", dry_run=True)
    monkeypatch.delenv("REPOSITORY_ID")
    asked = []

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self, *args: object) -> bytes:
            return b'{"id": 987654}'

    def fake_urlopen(request: Any, timeout: float) -> Answer:
        asked.append((request.full_url, request.get_header("Private-token")))
        return Answer()

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", fake_urlopen)
    monkeypatch.setenv("GITLAB_TOKEN", "t0ken")
    assert setup.repository_id("gitlab_ci", "group/sub/x", dry_run=False) == "987654"
    assert asked == [("https://gitlab.com/api/v4/projects/group%2Fsub%2Fx", "t0ken")]

    def failing(request: Any, timeout: float) -> Answer:
        raise OSError("HTTP Error 404: Not Found")

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", failing)
    with pytest.raises(
        setup.CommandError, match=r"cannot look up the id of acme/x .*REPOSITORY_ID=<id>"
    ):
        setup.repository_id("github_actions", "acme/x", dry_run=False)


def test_the_repository_id_request_names_the_repository_and_carries_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub's API takes OWNER/NAME and a bearer token; GitLab's the quoted path and its own
    header; both are asked for JSON, and give up after 20 s."""
    monkeypatch.delenv("REPOSITORY_ID", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
    monkeypatch.setenv("GITLAB_TOKEN", "gl-token")
    asked: list[tuple[str, dict[str, str], float]] = []

    class Answer(io.BytesIO):
        pass

    def fake_urlopen(request: Any, timeout: float) -> Answer:
        asked.append((request.full_url, dict(request.header_items()), timeout))
        return Answer(b'{"id": "123"}')

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", fake_urlopen)
    assert setup.repository_id("github_actions", "acme/x", dry_run=False) == "123"
    assert setup.repository_id("gitlab_ci", "group/sub/x", dry_run=False) == "123"
    assert asked == [
        (
            "https://api.github.com/repos/acme/x",
            {"Accept": "application/json", "Authorization": "Bearer gh-token"},
            20,
        ),
        (
            "https://gitlab.com/api/v4/projects/group%2Fsub%2Fx",
            {"Accept": "application/json", "Private-token": "gl-token"},
            20,
        ),
    ]
    asked.clear()
    monkeypatch.delenv("GITHUB_TOKEN")  # a public repository: no token
    setup.repository_id("github_actions", "acme/x", dry_run=False)
    assert asked[0][1] == {"Accept": "application/json"}

    def failing(request: Any, timeout: float) -> Answer:
        raise OSError("HTTP Error 404: Not Found")

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", failing)
    with pytest.raises(setup.CommandError) as raised:
        setup.repository_id("github_actions", "acme/x", dry_run=False)
    assert str(raised.value) == (
        "cannot look up the id of acme/x (HTTP Error 404: Not Found): give it as "
        "REPOSITORY_ID=<id> (GitHub: `gh api repos/OWNER/NAME --jq .id`; GitLab: the project "
        "page's Project ID)"
    )


def own(function: str) -> str:
    """The identity of its own that a function of functions.yaml runs as by default."""
    return rules.function_account("my-function", "my-project-id", function)


def test_a_firestore_function_uses_its_database_as_itself(repo: Repo) -> None:
    plan = setup_plan(
        repo({"doc": {"trigger_type": "firestore", "firestore_document": "users/{id}"}})
    )
    member = f"serviceAccount:{own('doc')}"
    assert [g for g in grants(plan) if g[2] == member] == [
        ("projects", "my-project-dev", member, "roles/datastore.user")
    ]
    assert list(conditions(plan)) == [("roles/datastore.user", "only (default) (Firestore)")]


# -- the Cloud Run route


def test_the_run_route_gives_every_setting_explicitly(repo: Repo) -> None:
    """Cloud Run's defaults are not the Functions API's: every setting is on the command."""
    functions = {
        "my-function": {
            "trigger_type": "http",
            "allow_unauthenticated": True,
            "secrets": ["K=k:1"],
            "vpc": "direct",
            "vpc_network": "net",
            "vpc_subnet": "sub",
            "vpc_egress": "all",
            "ingress_settings": "internal-and-gclb",
        }
    }
    plan = deploy_plan(repo(functions, answers={"deploy_api": "run"}), "production")
    [command] = commands(plan)
    assert command == (
        "gcloud",
        "run",
        "deploy",
        "my-function",
        "--project=my-project-id",
        "--region=us-central1",
        "--source=.",
        "--function=my_function",
        "--base-image=python313",
        "--automatic-updates",
        "--memory=512Mi",
        "--cpu=1",
        "--concurrency=80",
        "--timeout=60s",
        "--max-instances=100",
        "--service-account=my-function-86e4-sa@my-project-id.iam.gserviceaccount.com",
        "--ingress=internal-and-cloud-load-balancing",
        "--set-secrets=K=k:1",
        "--network=net",
        "--subnet=sub",
        "--vpc-egress=all-traffic",
        "--allow-unauthenticated",
        "--min-instances=0",
        "--env-vars-file=.deploy/production/my-function.yaml",
        "--quiet",
    )
    assert list(plan.units) == ["my-function"]


RUN = {"deploy_api": "run"}
UPLOADS = {"trigger_type": "storage", "storage_bucket": "my-uploads", "trigger_location": "eu"}


def eventarc_trigger(plan: _steps.Plan, name: str) -> _steps.Step:
    (step,) = [s for s in plan.steps if s.exists[1:5] == ("eventarc", "triggers", "describe", name)]
    return step


def test_an_eventarc_trigger_for_storage_filters_on_the_bucket(repo: Repo) -> None:
    """Created where the bucket is when missing, else updated in place (never recreated):
    delivered to the function's service as the trigger identity."""
    plan = deploy_plan(repo({"up": UPLOADS}, answers=RUN))
    where = ("--project=my-project-dev", "--location=eu")
    settings = (
        "--destination-run-service=up-dev",
        "--destination-run-region=us-central1",
        "--event-filters=type=google.cloud.storage.object.v1.finalized",
        "--event-filters=bucket=my-uploads",
        f"--service-account={TRIGGER_SA}",
    )
    trigger = eventarc_trigger(plan, "up-dev")
    assert trigger.command == (
        "gcloud",
        "eventarc",
        "triggers",
        "create",
        "up-dev",
        *where,
        *settings,
        "--quiet",
    )
    assert trigger.exists == ("gcloud", "eventarc", "triggers", "describe", "up-dev", *where)
    assert trigger.update == (
        "gcloud",
        "eventarc",
        "triggers",
        "update",
        "up-dev",
        *where,
        *settings,
        "--quiet",
    )
    # The function first, then who may invoke it, then what delivers to it.
    assert [s.command[1:4] for s in plan.units["up-dev"]] == [
        ("run", "deploy", "up-dev"),
        ("run", "services", "add-iam-policy-binding"),
        ("eventarc", "triggers", "create"),
    ]


# Eventarc triggers of the Cloud Run route besides Storage's: the entry, the function's
# service, and the flags its trigger is created and updated in place with.
EVENTARC_TRIGGERS = {
    # Document events are delivered as protobuf.
    "firestore": (
        {
            "trigger_type": "firestore",
            "firestore_document": "users/{userId}",
            "firestore_event": "created",
        },
        "doc",
        (
            "--project=my-project-dev",
            "--location=us-central1",
            "--destination-run-service=doc-dev",
            "--destination-run-region=us-central1",
            "--event-filters=type=google.cloud.firestore.document.v1.created",
            "--event-filters=database=(default)",
            "--event-filters-path-pattern=document=users/{userId}",
            "--event-data-content-type=application/protobuf",
            f"--service-account={TRIGGER_SA}",
        ),
    ),
    # Audit logs are filtered on the service and the method, from the global location.
    "audit_log": (
        {
            "trigger_type": "audit_log",
            "audit_service_name": "bigquery.googleapis.com",
            "audit_method_name": "google.cloud.bigquery.v2.JobService.InsertJob",
        },
        "audit",
        (
            "--project=my-project-dev",
            "--location=global",
            "--destination-run-service=audit-dev",
            "--destination-run-region=us-central1",
            "--event-filters=type=google.cloud.audit.log.v1.written",
            "--event-filters=serviceName=bigquery.googleapis.com",
            "--event-filters=methodName=google.cloud.bigquery.v2.JobService.InsertJob",
            f"--service-account={TRIGGER_SA}",
        ),
    ),
}


@pytest.mark.parametrize("trigger_type", EVENTARC_TRIGGERS)
def test_an_eventarc_trigger_filters_on_what_its_trigger_names(
    repo: Repo, trigger_type: str
) -> None:
    entry, name, flags = EVENTARC_TRIGGERS[trigger_type]
    trigger = eventarc_trigger(deploy_plan(repo({name: entry}, answers=RUN)), f"{name}-dev")
    assert trigger.command[5:-1] == flags
    assert trigger.update[5:] == trigger.command[5:]


def test_the_run_route_lets_only_the_trigger_identity_invoke_an_event_function(
    repo: Repo,
) -> None:
    plan = deploy_plan(repo({"up": {**UPLOADS, "region": "europe-west1"}}, answers=RUN))
    assert [c for c in commands(plan) if "add-iam-policy-binding" in c] == [
        (
            "gcloud",
            "run",
            "services",
            "add-iam-policy-binding",
            "up-dev",
            "--project=my-project-dev",
            "--region=europe-west1",
            f"--member=serviceAccount:{TRIGGER_SA}",
            "--role=roles/run.invoker",
            "--quiet",
        )
    ]


@pytest.mark.parametrize(
    ("trigger", "allow", "flag"),
    [
        ({"trigger_type": "http"}, False, "--no-allow-unauthenticated"),
        ({"trigger_type": "http"}, True, "--allow-unauthenticated"),
        (UPLOADS, True, "--no-allow-unauthenticated"),  # the repo's answer is for HTTP only
    ],
)
def test_only_a_public_http_function_of_the_run_route_allows_unauthenticated_calls(
    repo: Repo, trigger: dict[str, Any], allow: bool, flag: str
) -> None:
    root = repo({"f": trigger}, answers={**RUN, "allow_unauthenticated": allow})
    command = commands(deploy_plan(root))[0]
    assert command[1:4] == ("run", "deploy", "f-dev")
    assert [f for f in command if f.endswith("allow-unauthenticated")] == [flag]


def test_a_vpc_connector_on_the_run_route_takes_cloud_runs_egress_flag(repo: Repo) -> None:
    entry = {"vpc": "connector", "vpc_connector": "my-connector"}
    [command] = commands(deploy_plan(repo({"conn": entry}, answers=RUN)))
    assert command == (
        "gcloud",
        "run",
        "deploy",
        "conn-dev",
        "--project=my-project-dev",
        "--region=us-central1",
        "--source=.",
        "--function=conn",
        "--base-image=python313",
        "--automatic-updates",
        "--memory=512Mi",
        "--cpu=1",
        "--concurrency=80",
        "--timeout=60s",
        "--max-instances=100",
        f"--service-account={own('conn')}",
        "--ingress=all",
        "--vpc-connector=my-connector",
        "--vpc-egress=private-ranges-only",
        "--no-allow-unauthenticated",
        "--min-instances=0",
        "--env-vars-file=.deploy/dev/conn.yaml",
        "--quiet",
    )


def test_a_push_subscription_of_the_run_route_pushes_to_its_run_app_url(repo: Repo) -> None:
    """Without a dead-letter topic, a message is retried with backoff until it expires: the
    update clears any dead-letter policy the subscription had."""
    plan = deploy_plan(
        repo({"worker": {"trigger_type": "pubsub", "pubsub_topic": "jobs"}}, answers=RUN)
    )
    url = "https://worker-dev-PROJECT_NUMBER.us-central1.run.app"
    subscription = plan.steps[-1]
    assert subscription.command == ()
    assert subscription.update == (
        "gcloud",
        "pubsub",
        "subscriptions",
        "update",
        "worker-dev",
        "--project=my-project-dev",
        f"--push-endpoint={url}/projects/my-project-dev/topics/jobs-dev",
        f"--push-auth-service-account={TRIGGER_SA}",
        f"--push-auth-token-audience={url}",
        "--ack-deadline=60",
        "--min-retry-delay=10s",
        "--max-retry-delay=600s",
        "--clear-dead-letter-policy",
    )


def test_a_scheduler_function_of_the_run_route_gets_its_job_and_push_subscription(
    repo: Repo,
) -> None:
    entry = {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"}
    plan = deploy_plan(repo({"tick": entry}, answers=RUN))
    assert [s.exists[1:5] if not s.command else s.command[1:5] for s in plan.steps] == [
        ("pubsub", "topics", "describe", "ticks-dev"),
        ("run", "deploy", "tick-dev", "--project=my-project-dev"),
        ("run", "services", "add-iam-policy-binding", "tick-dev"),
        ("scheduler", "jobs", "create", "pubsub"),
        ("pubsub", "subscriptions", "describe", "tick-dev"),
    ]
    assert plan.steps[-1].expect == "projects/my-project-dev/topics/ticks-dev"


def test_a_functions_url_is_known_when_gcloud_prints_none(repo: Repo) -> None:
    """What the deploy's table shows for a function when gcloud printed no URL."""
    plan = deploy_plan(repo({"my-function": {}, "second": {}}))
    site = "https://us-central1-my-project-dev.cloudfunctions.net"
    assert plan.url("my-function-dev") == f"{site}/my-function-dev"
    assert plan.url("second-dev") == f"{site}/second-dev"
    assert plan.url("third-dev") == ""  # not a function of the repo


def test_a_run_app_url_is_known_only_with_the_project_number(repo: Repo) -> None:
    """A run.app URL names the project number, which the deploy asks gcloud for only when a
    push subscription needs it."""
    alone = deploy_plan(repo({"api": {}}, answers=RUN))
    assert alone.url("api-dev") == ""
    worker = {"trigger_type": "pubsub", "pubsub_topic": "jobs"}
    plan = deploy_plan(repo({"api": {}, "worker": worker}, answers=RUN))
    assert plan.url("api-dev") == "https://api-dev-PROJECT_NUMBER.us-central1.run.app"


def setup_line(plan: _steps.Plan, *words: str) -> str:
    """The dry run's one line for the step whose command starts with gcloud `words`."""
    (step,) = [s for s in plan.steps if s.command[1 : 1 + len(words)] == words]
    return step.line()


def test_setup_makes_its_resources_unless_they_exist_with_these_commands(repo: Repo) -> None:
    """The exact commands (as the dry run prints them) of the resources setup makes: the upload
    bucket, the database user, the invoker-admin role and the budget."""
    entry = {"trigger_type": "storage", "storage_bucket": "my-uploads", "trigger_location": "eu"}
    plan = setup_plan(repo({"up": entry}))
    assert setup_line(plan, "storage", "buckets", "create") == (
        "gcloud storage buckets describe gs://my-uploads '--format=value(name)' >/dev/null 2>&1 "
        "|| gcloud storage buckets create gs://my-uploads --project=my-project-dev "
        "--location=eu --uniform-bucket-level-access"
    )
    permissions = (
        "--permissions=cloudfunctions.functions.getIamPolicy,cloudfunctions.functions.setIamPolicy"
        ",run.services.getIamPolicy,run.services.setIamPolicy"
    )
    assert setup_line(plan, "iam", "roles", "create") == (
        "if gcloud iam roles describe gcfTemplateInvokerAdmin --project=my-project-dev "
        ">/dev/null 2>&1; then gcloud iam roles update gcfTemplateInvokerAdmin "
        f"--project=my-project-dev {permissions} --quiet; else gcloud iam roles create "
        "gcfTemplateInvokerAdmin --project=my-project-dev "
        f"'--title=gcf-template: who may invoke a function' {permissions} --stage=GA; fi"
    )
    plan = setup_plan(repo(answers=DATABASE))
    # Its identity may connect to this one instance, and sign in to it.
    only = (
        '\'--condition=expression=resource.name == "projects/my-project-id/instances/orders-db" '
        '|| resource.name.startsWith("projects/my-project-id/instances/orders-db/"),'
        "title=only orders-db (Cloud SQL)'"
    )
    assert [s.line() for s in plan.steps if "--role=roles/cloudsql." in " ".join(s.command)] == [
        "gcloud projects add-iam-policy-binding my-project-id "
        f"--member=serviceAccount:{SA} --role=roles/cloudsql.{role} {only} --quiet"
        for role in ("client", "instanceUser")
    ]
    assert setup_line(plan, "sql", "users", "create") == (
        "gcloud sql users describe my-function-86e4-sa@my-project-id.iam --instance=orders-db "
        "--project=my-project-id >/dev/null 2>&1 || gcloud sql users create "
        "my-function-86e4-sa@my-project-id.iam --instance=orders-db "
        "--type=cloud_iam_service_account --project=my-project-id"
    )
    plan = setup_plan(
        repo(answers={"billing_account": "01ABCD-23EF45-6789AB", "monthly_budget": 50})
    )
    settings = (
        "--billing-account=01ABCD-23EF45-6789AB '--display-name=my-project-dev monthly budget' "
        "--budget-amount=50 --filter-projects=projects/my-project-dev "
        "--notifications-rule-pubsub-topic=projects/my-project-dev/topics/budget-alerts"
    )
    assert setup_line(plan, "pubsub", "topics", "create") == (
        "gcloud pubsub topics describe budget-alerts --project=my-project-dev >/dev/null 2>&1 "
        "|| gcloud pubsub topics create budget-alerts --project=my-project-dev"
    )
    assert setup_line(plan, "billing", "budgets", "create") == (
        "if found=$(gcloud billing budgets list --billing-account=01ABCD-23EF45-6789AB "
        "'--filter=displayName='\"'\"'my-project-dev monthly budget'\"'\"'' "
        "'--format=value(name)' --limit=1) && [ -n \"$found\" ]; then gcloud billing budgets "
        f'update "$found" {settings} --clear-threshold-rules '
        "--add-threshold-rule=percent=0.5 --add-threshold-rule=percent=0.8 "
        "--add-threshold-rule=percent=1.0 --add-threshold-rule=percent=1.0,basis=forecasted-spend"
        f"; else gcloud billing budgets create {settings} --threshold-rule=percent=0.5 "
        "--threshold-rule=percent=0.8 --threshold-rule=percent=1.0 "
        "--threshold-rule=percent=1.0,basis=forecasted-spend; fi"
    )


@pytest.mark.parametrize(
    ("ci_provider", "section"),
    [
        ("github_actions", "GitHub Actions"),
        ("gitlab_ci", "GitLab CI/CD"),
        ("cloud_build", "Cloud Build"),
        ("none", "Continuous integration"),
        ("jenkins", "Deploying"),  # an answers file edited by hand: the general section
    ],
)
def test_setup_points_to_the_readme_section_of_its_ci(
    repo: Repo, ci_provider: str, section: str
) -> None:
    assert setup_plan(repo(answers={"ci_provider": ci_provider})).ci_section() == section


def test_the_ci_identity_provider_takes_the_repository_by_id(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool, and the provider named after the repo (its display name cut to 32 characters)."""
    monkeypatch.setenv("REPOSITORY_ID", "4242")
    repository = "acme-corporation/a-rather-long-function-repo"
    plan = setup_plan(repo(answers={"repository": repository}))
    assert setup_line(plan, "iam", "workload-identity-pools", "create") == (
        "gcloud iam workload-identity-pools describe github --project=my-project-dev "
        "--location=global >/dev/null 2>&1 || gcloud iam workload-identity-pools create github "
        "--project=my-project-dev --location=global '--display-name=GitHub Actions'"
    )
    where = (
        "my-function-86e4 --project=my-project-dev --location=global "
        "--workload-identity-pool=github"
    )
    settings = (
        f"--display-name=acme-corporation/a-rather-long-f '--description=gcf-template: {repository}' "
        "--issuer-uri=https://token.actions.githubusercontent.com "
        "'--attribute-mapping=google.subject=assertion.sub,attribute.repository=assertion.repository,"
        'attribute.deploy=assertion.repository_id+"/"+assertion.environment\' '
        '\'--attribute-condition=assertion.repository_id=="4242" && '
        '((assertion.environment=="dev") || '
        '(assertion.environment=="production" && assertion.ref_type=="tag"))\''
    )
    assert setup_line(plan, "iam", "workload-identity-pools", "providers", "create-oidc") == (
        f"if gcloud iam workload-identity-pools providers describe {where} "
        "'--format=value(description)' >/dev/null 2>&1; then gcloud iam workload-identity-pools "
        f"providers update-oidc {where} {settings}; else gcloud iam workload-identity-pools "
        f"providers create-oidc {where} {settings}; fi"
    )


def test_a_storage_trigger_needs_the_storage_service_agent(repo: Repo) -> None:
    """Cloud Storage's agent exists once asked for: setup asks, for a storage function only."""
    agent = ("gcloud", "storage", "service-agent", "--project=my-project-dev")
    entry = {"trigger_type": "storage", "storage_bucket": "my-uploads"}
    assert agent in commands(setup_plan(repo({"up": entry})))
    tick = {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"}
    plan = setup_plan(repo({"tick": tick}))
    assert agent not in commands(plan)
    # A scheduler's topic is the repo's own: setup makes it.
    topics = [c for c in commands(plan) if c[1:4] == ("pubsub", "topics", "create")]
    assert topics == [
        ("gcloud", "pubsub", "topics", "create", "ticks-dev", "--project=my-project-dev")
    ]


def test_setup_creates_each_identity_unless_it_exists(repo: Repo) -> None:
    """A runtime identity is made when missing; the deployer carries the repo's description,
    and one that another repo made stops the run before anything changes."""
    entry = {"trigger_type": "storage", "storage_bucket": "my-uploads"}
    plan = setup_plan(repo({"up": entry}))
    created = [s for s in plan.steps if s.command[1:4] == ("iam", "service-accounts", "create")]
    runtime, delivery, deployer = created
    assert runtime.line() == (
        "gcloud iam service-accounts describe "
        "my-function-3ee4-up@my-project-id.iam.gserviceaccount.com --project=my-project-id "
        ">/dev/null 2>&1 || gcloud iam service-accounts create my-function-3ee4-up "
        "--project=my-project-id '--display-name=up runtime'"
    )
    assert delivery.command[4:] == (
        "my-function-86e4-trg",
        "--project=my-project-id",
        "--display-name=up event delivery",
    )
    assert deployer.line() == (
        f"gcloud iam service-accounts describe {DEPLOYER} --project=my-project-id "
        "'--format=value(description)' >/dev/null 2>&1 || gcloud iam service-accounts create "
        "my-function-86e4-dep-dev --project=my-project-id "
        "'--display-name=my-function deployer (dev)' "
        "'--description=gcf-template: acme/my-function, dev'"
    )
    assert deployer.check_line() == (
        f"if found=$(gcloud iam service-accounts describe {DEPLOYER} --project=my-project-id "
        "'--format=value(description)' 2>/dev/null); then case $found in "
        "'gcf-template: acme/my-function, dev') ;; *) { echo "
        f'"{DEPLOYER} exists and is not this repo\'s deployer for dev: it is $found" >&2; '
        "exit 1; } ;; esac; fi"
    )
    # Eventarc delivers the bucket's events as the delivery identity.
    receiver = [c for c in commands(plan) if "--role=roles/eventarc.eventReceiver" in c]
    assert [c[4] for c in receiver] == [
        "--member=serviceAccount:my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
    ]


def test_the_env_file_of_a_database_function_takes_the_answers_unless_overridden(
    repo: Repo,
) -> None:
    root = repo(answers=DATABASE)
    deploy_plan(root, "production")
    variables = env_file(root, "production")
    database = {k: v for k, v in variables.items() if "DB" in k.upper() or "INSTANCE" in k}
    assert database == {
        "INSTANCE_CONNECTION_NAME": "my-project-id:us-central1:orders-db",
        "DB_NAME": "app",
        "DB_USER": "my-function-86e4-sa@my-project-id.iam",
        "DB_IAM_AUTH": "true",
        "DB_IP_TYPE": "public",
    }


def test_a_deploy_checks_its_topic_and_push_subscription_first(repo: Repo) -> None:
    """What setup made must be there, and the subscription must carry the function's topic."""
    plan = deploy_plan(repo({"worker": DEAD_LETTER}))
    checks = [s.check_line() for s in plan.steps if s.checked]
    assert checks == [
        "gcloud pubsub topics describe jobs-dev --project=my-project-dev >/dev/null 2>&1 || "
        '{ echo "topic jobs-dev is missing: run \\`make setup ENV=dev\\` first (it makes what '
        'functions.yaml names)" >&2; exit 1; }',
        "found=$(gcloud pubsub subscriptions describe worker-dev --project=my-project-dev "
        "'--format=value(topic)' 2>/dev/null) || { echo \"the push subscription worker-dev is "
        'missing: run \\`make setup ENV=dev\\` first" >&2; exit 1; }; case $found in '
        'projects/my-project-dev/topics/jobs-dev) ;; *) { echo "the push subscription '
        "worker-dev exists with another topic than projects/my-project-dev/topics/jobs-dev "
        "(functions.yaml's pubsub_topic of worker): delete it, or give the function another "
        'name: it is $found" >&2; exit 1; } ;; esac',
    ]


def test_a_role_on_the_project_or_on_a_resource_setup_makes(repo: Repo) -> None:
    roles = [
        "roles/logging.logWriter",
        {"role": "roles/storage.objectUser", "bucket": "state-bucket"},
        {"role": "roles/pubsub.subscriber", "topic": "inbox"},
    ]
    plan = setup_plan(repo({"my-function": {"roles": roles}}))
    member = f"serviceAccount:{SA}"
    assert [g for g in grants(plan) if g[2] == member] == [
        ("projects", "my-project-dev", member, "roles/logging.logWriter"),
        ("storage buckets", "gs://state-bucket", member, "roles/storage.objectUser"),
        ("pubsub topics", "inbox", member, "roles/pubsub.subscriber"),
    ]
    made = [c[1:6] for c in commands(plan) if c[3:4] == ("create",) and c[1] != "iam"]
    assert made == [
        ("storage", "buckets", "create", "gs://state-bucket", "--project=my-project-dev"),
        ("pubsub", "topics", "create", "inbox", "--project=my-project-dev"),
    ]
    (bucket,) = [c for c in commands(plan) if c[1:4] == ("storage", "buckets", "create")]
    assert "--location=us-central1" in bucket  # the function's region


def test_setup_says_how_to_give_each_secret_a_value(repo: Repo) -> None:
    secrets = ["API_KEY=api-key:latest", "OTHER=projects/shared-proj/secrets/other-key:2"]
    plan = setup_plan(repo({"my-function": {"secrets": secrets}}))
    assert [n for n in plan.notes if n.startswith("secret ")] == [
        "secret api-key: give it a value once, with printf '%s' 'the value' | gcloud secrets "
        "versions add api-key --project=my-project-dev --data-file=-",
        "secret other-key: give it a value once, with printf '%s' 'the value' | gcloud secrets "
        "versions add other-key --project=shared-proj --data-file=-",
    ]


def test_an_answers_file_without_a_budget_makes_none(repo: Repo) -> None:
    """Answers recorded before the budget questions, or a budget of 0: no budget step."""
    billing = {"billing_account": "01ABCD-23EF45-6789AB"}
    for answers in (
        {"billing_account": None, "monthly_budget": None},
        {},
        {**billing, "monthly_budget": 0},
        {**billing, "monthly_budget": None},
    ):
        plan = setup_plan(repo(answers=answers))
        assert not [c for c in commands(plan) if c[1:3] == ("billing", "budgets")]
        assert "billingbudgets.googleapis.com" not in commands(plan)[0]


def test_the_deployer_of_the_cloud_run_route_builds_from_source(repo: Repo) -> None:
    """Its project roles, Cloud Build's with CI on Cloud Build, and the build identity's."""
    functions = {
        "web": {"trigger_type": "http"},
        "up": {"trigger_type": "storage", "storage_bucket": "my-uploads"},
        "tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"},
    }
    plan = setup_plan(repo(functions, answers={"deploy_api": "run", "ci_provider": "cloud_build"}))
    deployer = f"serviceAccount:{DEPLOYER}"
    on_project = [g[2:] for g in grants(plan) if g[0] == "projects"]
    assert [role for member, role in on_project if member == deployer] == [
        "roles/run.sourceDeveloper",
        "roles/serviceusage.serviceUsageConsumer",
        "roles/eventarc.developer",
        "roles/cloudscheduler.admin",
        "roles/cloudbuild.builds.builder",
        "roles/logging.logWriter",
        f"projects/my-project-dev/roles/{setup.INVOKER_ADMIN}",
    ]
    builder = "serviceAccount:PROJECT_NUMBER-compute@developer.gserviceaccount.com"
    assert (builder, "roles/run.builder") in on_project
    # It acts as each function's identity, granted where that identity lives.
    acts_as = [
        c for c in commands(plan) if c[1:4] == ("iam", "service-accounts", "add-iam-policy-binding")
    ]
    assert {c[4] for c in acts_as} == {
        "my-function-ca39-web@my-project-id.iam.gserviceaccount.com",
        "my-function-3ee4-up@my-project-id.iam.gserviceaccount.com",
        "my-function-f4f5-tick@my-project-id.iam.gserviceaccount.com",
        TRIGGER_SA,
    }
    assert {c[5] for c in acts_as} == {"--project=my-project-id"}


def test_bad_billing_answers_stop_setup_naming_each(repo: Repo) -> None:
    root = repo(answers={"billing_account": "bad", "monthly_budget": -1})
    with pytest.raises(setup.CommandError) as raised:
        setup_plan(root)
    assert str(raised.value) == (
        ".copier-answers.yml: billing_account: must be empty or a billing account id "
        'XXXXXX-XXXXXX-XXXXXX of upper-case hexadecimal digits (got "bad"); monthly_budget: must '
        "be a whole amount of 0 or more (0: no budget) (got -1) (change it with `copier update "
        "--data KEY=VALUE`)"
    )


def test_a_database_and_a_custom_role_enable_their_apis(repo: Repo) -> None:
    roles = ["projects/my-project-id/roles/bigquery.loader"]
    enabled = commands(setup_plan(repo({"my-function": {"roles": roles}}, answers=DATABASE)))[0]
    assert "sqladmin.googleapis.com" in enabled
    assert "bigquery.googleapis.com" in enabled


def test_setup_says_what_to_do_with_the_database(repo: Repo) -> None:
    plan = setup_plan(repo(answers=DATABASE))
    assert [n for n in plan.notes if n.startswith("database ")] == [
        "database app on my-project-id:us-central1:orders-db: create its tables with schema.sql, "
        'and let my-function-86e4-sa@my-project-id.iam use them (README.md, "Database")'
    ]


def test_a_repo_of_both_routes_gets_the_roles_of_both(repo: Repo) -> None:
    functions = {"a": {"deploy_api": "functions"}, "b": {"deploy_api": "run"}}
    plan = setup_plan(repo(functions))
    deployer = f"serviceAccount:{DEPLOYER}"
    assert [g[3] for g in grants(plan) if g[0] == "projects" and g[2] == deployer] == [
        "roles/cloudfunctions.developer",
        "roles/run.sourceDeveloper",
        "roles/serviceusage.serviceUsageConsumer",
    ]
