"""One-time setup of a project for the functions of functions.yaml, re-runnable at any time.

Enables the APIs the functions need; creates their service accounts (runtime, trigger,
and the deployer that CI and `gcf deploy` use) and grants each exactly the roles it
needs (a secret's accessor role on that secret only, the deployer's right to act as an
account on that account only); creates the topics, dead-letter topics and buckets the
functions use; sets up Workload Identity Federation for CI (GitHub Actions, GitLab CI/CD)
and a budget with alerts when the answers give a billing account and a monthly budget.

What exists is left alone and reported; granting a role that is granted already changes
nothing; so run it again after any change to functions.yaml or the answers. A failure
stops with what was done and what was not. A dry run prints every command, one
shell-quoted line each, and needs no gcloud.
"""

from __future__ import annotations

from gcf_devkit import rules
from gcf_devkit.cloud._steps import (
    CommandError,
    Plan,
    Step,
    gcloud,
    project_number,
    run_output,
)
from gcf_devkit.project import ANSWERS, Function, Project

# The API to enable for a project role's service (roles/<service>.<role>).
ROLE_APIS = {
    "bigquery": "bigquery.googleapis.com",
    "datastore": "firestore.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
    "storage": "storage.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
}

APIS = (
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "logging.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
)
# Which CI provider authenticates through which pool, and the token claim naming the repository.
CI_IDENTITY = {
    "github_actions": (
        "github",
        "GitHub Actions",
        "https://token.actions.githubusercontent.com",
        "repository",
    ),
    "gitlab_ci": ("gitlab", "GitLab CI/CD", "https://gitlab.com", "project_path"),
}
# The README's section on each CI provider.
CI_SECTIONS = {
    "github_actions": "GitHub Actions",
    "gitlab_ci": "GitLab CI/CD",
    "cloud_build": "Cloud Build",
    "none": "Continuous integration",
}
BUDGET_TOPIC = "budget-alerts"
# Fractions of the budget that alert: spent so far, and the month's forecast.
BUDGET_THRESHOLDS = (
    "percent=0.5",
    "percent=0.8",
    "percent=1.0",
    "percent=1.0,basis=forecasted-spend",
)


def account_project(email: str) -> str | None:
    """The project a user-managed service account lives in; None for Google-managed ones."""
    domain = email.partition("@")[2]
    if not domain.endswith(".iam.gserviceaccount.com"):
        return None
    return domain.removesuffix(".iam.gserviceaccount.com")


def provider_id(base: str) -> str:
    """A workload identity pool provider id Google takes: 4-32 lower-case letters, digits and
    hyphens, not starting with the reserved gcp-."""
    name = f"ci-{base}" if base.startswith("gcp-") else base
    if len(name) < 4:
        name = f"{name}-ci"
    return name[:32].rstrip("-")


class Setup(Plan):
    """The commands that prepare one environment's project for every function of the repo."""

    def __init__(
        self, project: Project, environment: str, cloud_project: str, project_number: str
    ) -> None:
        super().__init__(project, environment, cloud_project, project_number)
        self.functions = list(project.functions.values())
        self.deployer = project.deployer
        self.notes: list[str] = []
        self.accounts_seen: set[str] = set()

    def grant_project(self, account: str, role: str) -> None:
        self.grant(("projects",), self.cloud_project, f"serviceAccount:{account}", role)

    def build(self) -> Setup:
        self.enable_apis()
        self.accounts()
        self.resources()
        for f in self.functions:
            self.runtime_roles(f)
        self.deployer_roles()
        self.ci_identity()
        self.budget()
        return self

    # -- APIs

    def apis(self) -> list[str]:
        triggers = {f.trigger_type for f in self.functions}
        apis = list(APIS)
        if triggers - {"http"} or self.project.owned_topics():
            apis += ["eventarc.googleapis.com", "pubsub.googleapis.com"]
        if "scheduler" in triggers:
            apis.append("cloudscheduler.googleapis.com")
        if "storage" in triggers:
            apis.append("storage.googleapis.com")
        if "firestore" in triggers:
            apis.append("firestore.googleapis.com")
        if any(f.secrets for f in self.functions):
            apis.append("secretmanager.googleapis.com")
        if any(f.has_database for f in self.functions):
            apis.append("sqladmin.googleapis.com")
        if any(f.vpc == "connector" for f in self.functions):
            apis.append("vpcaccess.googleapis.com")
        if self.budget_amount():
            apis.append("billingbudgets.googleapis.com")
        # The service behind a role a function is granted, such as BigQuery for the pipeline.
        services = {role.split("/")[1].split(".")[0] for f in self.functions for role in f.roles}
        apis += [ROLE_APIS[s] for s in sorted(services) if s in ROLE_APIS]
        return list(dict.fromkeys(apis))

    def enable_apis(self) -> None:
        self.add(
            Step(gcloud("services", "enable", *self.apis(), f"--project={self.cloud_project}"))
        )

    # -- identities

    def create_account(self, email: str, display_name: str) -> None:
        project = account_project(email)
        if email in self.accounts_seen:
            return
        self.accounts_seen.add(email)
        if project is None:
            self.notes.append(f"{email} is managed by Google: not created")
            return
        # `create` takes the account id, `describe` the email.
        where = f"--project={project}"
        self.add(
            Step(
                gcloud(
                    "iam",
                    "service-accounts",
                    "create",
                    email.partition("@")[0],
                    where,
                    f"--display-name={display_name[:100]}",
                ),
                exists=gcloud("iam", "service-accounts", "describe", email, where),
            )
        )

    def accounts(self) -> None:
        """Each function's runtime identity, and the identity its events are delivered as."""
        for f in self.functions:
            self.create_account(f.service_account, f"{f.name} runtime")
            if f.trigger_type != "http":
                self.create_account(f.trigger_service_account, f"{f.name} event delivery")
        self.create_account(self.deployer, f"{self.project.function_name} deployer")
        for f in self.functions:
            if f.trigger_type != "http":
                for role in ("roles/eventarc.eventReceiver", "roles/run.invoker"):
                    self.grant_project(f.trigger_service_account, role)

    def runtime_roles(self, f: Function) -> None:
        account = f"serviceAccount:{f.service_account}"
        if f.trigger_type == "storage":
            bucket = f"gs://{f.storage_bucket}"
            self.grant(("storage", "buckets"), bucket, account, "roles/storage.objectViewer")
        if f.trigger_type == "firestore":
            self.grant_project(f.service_account, "roles/datastore.user")
        for topic in f.publishes.values():
            self.grant(("pubsub", "topics"), self.topic(topic), account, "roles/pubsub.publisher")
        for role in f.roles:
            self.grant_project(f.service_account, role)
        if f.has_database:
            self.database_access(f)
        for entry in f.secrets:
            source = str(entry).partition("=")[2].rpartition(":")[0]
            project, _, secret = source.removeprefix("projects/").rpartition("/secrets/")
            if project in ("", self.cloud_project):
                self.create(("secrets",), secret, "--replication-policy=automatic")
            self.grant(("secrets",), secret, account, "roles/secretmanager.secretAccessor", project)
            where = f" --project={project}" if project else f" --project={self.cloud_project}"
            self.notes.append(
                f"secret {secret}: give it a value once, with "
                f"printf '%s' 'the value' | gcloud secrets versions add {secret}{where} --data-file=-"
            )

    def database_access(self, f: Function) -> None:
        """Connect through the Cloud SQL connector; with IAM auth, sign in as a database user."""
        account = f"serviceAccount:{f.service_account}"
        project, _, rest = f.cloudsql_instance.partition(":")
        instance = rest.partition(":")[2]
        roles = ["roles/cloudsql.client"]
        if f.database_auth == "iam":
            roles.append("roles/cloudsql.instanceUser")
        for role in roles:
            self.grant(("projects",), project, account, role)
        if f.database_auth == "iam":
            self.add(
                Step(
                    gcloud(
                        "sql",
                        "users",
                        "create",
                        f.database_user,
                        f"--instance={instance}",
                        "--type=cloud_iam_service_account",
                        f"--project={project}",
                    ),
                    exists=gcloud(
                        "sql",
                        "users",
                        "describe",
                        f.database_user,
                        f"--instance={instance}",
                        f"--project={project}",
                    ),
                )
            )
        self.notes.append(
            f"database {f.database_name} on {f.cloudsql_instance}: create its tables with "
            f'schema.sql, and let {f.database_user} use them (README.md, "Database")'
        )

    def deployer_roles(self) -> None:
        """Deploy functions, and act as their identities: on those accounts only."""
        triggers = {f.trigger_type for f in self.functions}
        roles = ["roles/cloudfunctions.developer"]
        if "scheduler" in triggers:
            roles.append("roles/cloudscheduler.admin")
        if any(f.push_subscription for f in self.functions):
            # make deploy wires push subscriptions: the Pub/Sub service agent's roles on
            # their dead-letter topics and on them.
            roles.append("roles/pubsub.admin")
        elif self.project.owned_topics():
            roles.append("roles/pubsub.editor")
        if self.project.ci_provider == "cloud_build":
            roles.append("roles/cloudbuild.builds.builder")
        for role in roles:
            self.grant_project(self.deployer, role)
        identities = [f.service_account for f in self.functions]
        identities += [
            f.trigger_service_account for f in self.functions if f.trigger_type != "http"
        ]
        for email in dict.fromkeys(identities):
            self.grant(
                ("iam", "service-accounts"),
                email,
                f"serviceAccount:{self.deployer}",
                "roles/iam.serviceAccountUser",
                account_project(email) or self.cloud_project,
            )

    # -- resources

    def resources(self) -> None:
        """Topics, dead-letter topics with a subscription each, and buckets, when missing."""
        for f in self.functions:
            topics = list(f.publishes.values())
            if f.trigger_type in ("pubsub", "scheduler"):
                topics.append(f.pubsub_topic)
            for topic in topics:
                self.create(("pubsub", "topics"), self.topic(topic))
            if f.push_subscription:
                dead_letter = self.topic(f.dead_letter_topic)
                self.create(("pubsub", "topics"), dead_letter)
                self.create(("pubsub", "subscriptions"), dead_letter, f"--topic={dead_letter}")
                agent = f"serviceAccount:service-{self.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
                self.grant(("pubsub", "topics"), dead_letter, agent, "roles/pubsub.publisher")
            if f.trigger_type == "storage":
                bucket = f"gs://{f.storage_bucket}"
                self.add(
                    Step(
                        gcloud(
                            "storage",
                            "buckets",
                            "create",
                            bucket,
                            f"--project={self.cloud_project}",
                            f"--location={f.trigger_location}",
                            "--uniform-bucket-level-access",
                        ),
                        exists=gcloud(
                            "storage", "buckets", "describe", bucket, "--format=value(name)"
                        ),
                    )
                )
        if any(f.trigger_type == "storage" for f in self.functions):
            # Cloud Storage publishes a bucket's events to Pub/Sub for Eventarc, as its service agent.
            self.add(Step(gcloud("storage", "service-agent", f"--project={self.cloud_project}")))
            agent = f"service-{self.project_number}@gs-project-accounts.iam.gserviceaccount.com"
            self.grant_project(agent, "roles/pubsub.publisher")

    # -- CI

    def ci_section(self) -> str:
        return CI_SECTIONS.get(str(self.project.ci_provider), "Deploying")

    def provider(self) -> tuple[str, str] | None:
        """The CI pool id and provider resource name, when CI authenticates through a pool."""
        ci = self.project.ci_provider
        if ci not in CI_IDENTITY:
            return None
        pool = CI_IDENTITY[ci][0]
        name = provider_id(rules.account_id_base(self.project.function_name))
        return pool, (
            f"projects/{self.project_number}/locations/global/workloadIdentityPools/{pool}/providers/{name}"
        )

    def ci_condition(self, claim: str, repository: str) -> str:
        """The tokens the provider takes: the repository's, and of those only jobs that run in
        one of its deploy environments (GitHub, whose environments have deployment rules) or on
        a protected branch or tag (GitLab). A workflow pushed to any other branch gets none."""
        if self.project.ci_provider == "gitlab_ci":
            return f"assertion.{claim}=='{repository}' && assertion.ref_protected=='true'"
        listed = ", ".join(f"'{e}'" for e in self.project.ci_environments)
        return f"assertion.{claim}=='{repository}' && assertion.environment in [{listed}]"

    def ci_identity(self) -> None:
        """A pool, a provider that only accepts the repository's tokens, and the right to act as the deployer."""
        found = self.provider()
        if found is None:
            return
        pool, resource = found
        _, title, issuer, claim = CI_IDENTITY[self.project.ci_provider]
        repository = str(self.project.answers.get("repository", ""))
        where = (f"--project={self.cloud_project}", "--location=global")
        self.create(
            ("iam", "workload-identity-pools"),
            pool,
            f"--display-name={title}",
            scope=("--location=global",),
        )
        name = resource.rpartition("/")[2]
        settings = (
            f"--display-name={repository[:32]}",
            f"--issuer-uri={issuer}",
            "--attribute-mapping=google.subject=assertion.sub,"
            f"attribute.{claim}=assertion.{claim},attribute.ref=assertion.ref",
            f"--attribute-condition={self.ci_condition(claim, repository)}",
        )
        provider = ("iam", "workload-identity-pools", "providers")
        self.add(
            Step(
                gcloud(
                    *provider,
                    "create-oidc",
                    name,
                    *where,
                    f"--workload-identity-pool={pool}",
                    *settings,
                ),
                exists=gcloud(
                    *provider, "describe", name, *where, f"--workload-identity-pool={pool}"
                ),
                update=gcloud(
                    *provider,
                    "update-oidc",
                    name,
                    *where,
                    f"--workload-identity-pool={pool}",
                    *settings,
                ),
            )
        )
        member = (
            f"principalSet://iam.googleapis.com/projects/{self.project_number}/locations/global/"
            f"workloadIdentityPools/{pool}/attribute.{claim}/{repository}"
        )
        self.grant(
            ("iam", "service-accounts"), self.deployer, member, "roles/iam.workloadIdentityUser"
        )

    def ci_values(self) -> list[str]:
        found = self.provider()
        if found is None:
            return []
        return [
            f"WORKLOAD_IDENTITY_PROVIDER={found[1]}",
            f"DEPLOYER_SERVICE_ACCOUNT={self.deployer}",
        ]

    # -- budget

    def budget_amount(self) -> int:
        answers = self.project.answers
        if not answers.get("billing_account"):
            return 0
        return int(answers.get("monthly_budget") or 0)

    def budget_name(self) -> str:
        return f"{self.cloud_project} monthly budget"

    def budget(self, existing: str = "") -> None:
        """Alerts at 50%, 80% and 100% of the month's budget, and at 100% forecast, to the billing
        admins (by default) and to a Pub/Sub topic."""
        amount = self.budget_amount()
        if not amount:
            return
        self.create(("pubsub", "topics"), BUDGET_TOPIC)
        account = f"--billing-account={self.project.answers['billing_account']}"
        settings = (
            f"--display-name={self.budget_name()}",
            f"--budget-amount={amount}",
            f"--filter-projects=projects/{self.cloud_project}",
            f"--notifications-rule-pubsub-topic=projects/{self.cloud_project}/topics/{BUDGET_TOPIC}",
        )
        if existing:
            thresholds = [f"--add-threshold-rule={rule}" for rule in BUDGET_THRESHOLDS]
            command = gcloud(
                "billing",
                "budgets",
                "update",
                existing,
                account,
                *settings,
                "--clear-threshold-rules",
                *thresholds,
            )
        else:
            thresholds = [f"--threshold-rule={rule}" for rule in BUDGET_THRESHOLDS]
            command = gcloud("billing", "budgets", "create", account, *settings, *thresholds)
        self.add(Step(command))

    def existing_budget(self) -> str:
        """The budget this setup made before, found by its display name; "" when there is none."""
        answers = self.project.answers
        output = run_output(
            gcloud(
                "billing",
                "budgets",
                "list",
                f"--billing-account={answers['billing_account']}",
                f"--filter=displayName={self.budget_name()!r}",
                "--format=value(name)",
            ),
            self.project.root,
        )
        return output.splitlines()[0].strip() if output else ""


def plan(project: Project, environment: str, dry_run: bool) -> Setup:
    answers = project.answers
    errors = [
        rules.billing_account_error(answers.get("billing_account", "")),
        rules.monthly_budget_error(
            answers.get("monthly_budget", 0), answers.get("billing_account")
        ),
    ]
    if any(errors):
        raise CommandError(
            f"{ANSWERS}: "
            + "; ".join(e for e in errors if e)
            + " (change it with `copier update --data KEY=VALUE`)"
        )
    project.check_environment(environment)
    cloud_project = project.cloud_project(environment)
    number = project_number(cloud_project, project.root, dry_run)
    setup = Setup(project, environment, cloud_project, number)
    setup.build()
    if not dry_run and setup.budget_amount():
        found = setup.existing_budget()
        if found:
            setup.steps = [
                s for s in setup.steps if s.command[1:4] != ("billing", "budgets", "create")
            ]
            setup.budget(found)
    return setup
