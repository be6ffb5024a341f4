"""One-time setup of a project for the functions of functions.yaml, re-runnable at any time.

Enables the APIs the functions need; creates their service accounts (each function's
runtime identity, the identity that delivers their events, and this environment's own
deployer) and grants each exactly the roles it needs, on the one resource it needs each on
wherever the platform allows (a secret, a bucket, a topic, a dataset, a subscription, the
accounts the deployer acts as); creates the topics, push subscriptions, dead-letter topics,
buckets and datasets the functions use; sets up Workload Identity Federation for CI
(GitHub Actions, GitLab CI/CD) so that only this environment's deploy jobs of this
repository, named by its immutable id, act as this environment's deployer; and a budget
with alerts when the answers give a billing account and a monthly budget. A deployer or
identity provider that another repository configured is never changed: setup stops,
naming it.

What exists is left alone and reported; granting a role that is granted already changes
nothing; so run it again after any change to functions.yaml or the answers. A failure
stops with what was done and what was not. A dry run prints every command, one
shell-quoted line each, and needs no gcloud.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request

from gcf_devkit import rules
from gcf_devkit.cloud._steps import (
    FOUND,
    SUBSCRIPTIONS,
    TOPICS,
    CommandError,
    Plan,
    Step,
    gcloud,
    project_number,
)
from gcf_devkit.cloud.deploy import push_subscription
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
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "logging.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
)
# Which CI provider authenticates through which pool, and the token claims that name the
# repository (by its immutable id) and what it runs, and where the id can be looked up.
CI_IDENTITY = {
    "github_actions": (
        "github",
        "GitHub Actions",
        "https://token.actions.githubusercontent.com",
        "repository_id",
        "repository",
    ),
    "gitlab_ci": ("gitlab", "GitLab CI/CD", "https://gitlab.com", "project_id", "project_path"),
}
REPOSITORY_API = {
    "github_actions": "https://api.github.com/repos/{}",
    "gitlab_ci": "https://gitlab.com/api/v4/projects/{}",
}
# The custom role that lets the deployer let a function's callers invoke it (and nothing else
# about IAM): `gcf deploy` grants run.invoker on each function to who calls it.
INVOKER_ADMIN = "gcfTemplateInvokerAdmin"
INVOKER_ADMIN_PERMISSIONS = (
    "cloudfunctions.functions.getIamPolicy",
    "cloudfunctions.functions.setIamPolicy",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
)
# Who builds a `gcloud run deploy --source` without --build-service-account.
BUILD_ACCOUNT = "{}-compute@developer.gserviceaccount.com"
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


def within(name: str, service: str) -> str:
    """An IAM condition that limits a project role to one resource (and what it holds), for a
    service whose roles take one (BigQuery datasets, Firestore databases, Cloud SQL instances)."""
    expression = f'resource.name == "{name}" || resource.name.startsWith("{name}/")'
    return f"expression={expression},title=only {name.rpartition('/')[2]} ({service})"


def account_project(email: str) -> str | None:
    """The project a user-managed service account lives in; None for Google-managed ones."""
    domain = email.partition("@")[2]
    if not domain.endswith(".iam.gserviceaccount.com"):
        return None
    return domain.removesuffix(".iam.gserviceaccount.com")


def repository_id(provider: str, repository: str, dry_run: bool) -> str:
    """The repository's immutable id, which CI tokens carry: REPOSITORY_ID when set, else
    looked up (GitHub's or GitLab's API; GITHUB_TOKEN or GITLAB_TOKEN for a private one)."""
    given = os.environ.get("REPOSITORY_ID", "")
    if given:
        if not re.fullmatch(r"[0-9]{1,20}", given):
            raise CommandError(
                f"REPOSITORY_ID: must be the repository's numeric id (got {given!r})"
            )
        return given
    if dry_run:
        return "REPOSITORY_ID"
    url = REPOSITORY_API[provider].format(
        repository if provider == "github_actions" else urllib.parse.quote(repository, safe="")
    )
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    token = os.environ.get("GITHUB_TOKEN" if provider == "github_actions" else "GITLAB_TOKEN")
    if token:
        header = "Authorization" if provider == "github_actions" else "PRIVATE-TOKEN"
        request.add_header(header, f"Bearer {token}" if header == "Authorization" else token)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return str(int(json.load(response)["id"]))
    except (OSError, ValueError, KeyError) as error:
        raise CommandError(
            f"cannot look up the id of {repository} ({error}): give it as REPOSITORY_ID=<id> "
            "(GitHub: `gh api repos/OWNER/NAME --jq .id`; GitLab: the project page's Project ID)"
        ) from error


class Setup(Plan):
    """The commands that prepare one environment's project for every function of the repo."""

    def __init__(
        self,
        project: Project,
        environment: str,
        cloud_project: str,
        project_number: str,
        repository_id: str,
    ) -> None:
        super().__init__(project, environment, cloud_project, project_number)
        self.functions = list(project.functions.values())
        self.deployer = project.deployer(environment)
        self.repository_id = repository_id
        self.notes: list[str] = []
        self.accounts_seen: set[str] = set()

    def grant_project(self, account: str, role: str, condition: str = "") -> None:
        self.grant(
            ("projects",),
            self.cloud_project,
            f"serviceAccount:{account}",
            role,
            condition=condition,
        )

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

    @property
    def owner(self) -> str:
        """How the resources only this repo may change say whose they are (their description)."""
        repository = str(self.project.answers.get("repository") or self.project.function_name)
        return f"gcf-template: {repository}, {self.environment}"

    # -- APIs

    def apis(self) -> list[str]:
        triggers = {f.trigger_type for f in self.functions}
        # The Cloud Functions API only for functions deployed through it.
        apis = ["cloudfunctions.googleapis.com"] if any(not f.run for f in self.functions) else []
        apis += APIS
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
        services = {g.role.split("/")[-1].split(".")[0] for f in self.functions for g in f.roles}
        apis += [ROLE_APIS[s] for s in sorted(services) if s in ROLE_APIS]
        return list(dict.fromkeys(apis))

    def enable_apis(self) -> None:
        self.add(
            Step(gcloud("services", "enable", *self.apis(), f"--project={self.cloud_project}"))
        )

    # -- identities

    def create_account(self, email: str, display_name: str, owned: bool = False) -> None:
        """Create a service account when missing. An `owned` one (the deployer) must carry this
        repo's description when it exists: one that another repo made stops the run."""
        project = account_project(email)
        if email in self.accounts_seen:
            return
        self.accounts_seen.add(email)
        if project is None:
            self.notes.append(f"{email} is managed by Google: not created")
            return
        # `create` takes the account id, `describe` the email.
        where = f"--project={project}"
        description = (f"--description={self.owner}",) if owned else ()
        describe = gcloud("iam", "service-accounts", "describe", email, where)
        self.add(
            Step(
                gcloud(
                    "iam",
                    "service-accounts",
                    "create",
                    email.partition("@")[0],
                    where,
                    f"--display-name={display_name[:100]}",
                    *description,
                ),
                exists=(*describe, "--format=value(description)") if owned else describe,
                expect=self.owner if owned else "",
                conflict=f"{email} exists and is not this repo's deployer for {self.environment}",
            )
        )

    def accounts(self) -> None:
        """Each function's runtime identity, the identity its events are delivered as, and
        this environment's deployer."""
        for f in self.functions:
            self.create_account(f.service_account, f"{f.name} runtime")
            if f.trigger_type != "http":
                self.create_account(f.trigger_service_account, f"{f.name} event delivery")
        name = f"{self.project.function_name} deployer ({self.environment})"
        self.create_account(self.deployer, name, owned=True)
        for f in self.functions:
            if f.trigger_type != "http" and not f.push_subscription:
                # Eventarc delivers as it (who may invoke which function: `gcf deploy`).
                self.grant_project(f.trigger_service_account, "roles/eventarc.eventReceiver")

    def runtime_roles(self, f: Function) -> None:
        account = f"serviceAccount:{f.service_account}"
        if f.trigger_type == "storage":
            bucket = f"gs://{f.storage_bucket}"
            self.grant(("storage", "buckets"), bucket, account, "roles/storage.objectViewer")
        if f.trigger_type == "firestore":
            database = f"projects/{self.cloud_project}/databases/{f.firestore_database}"
            self.grant_project(
                f.service_account, "roles/datastore.user", within(database, "Firestore")
            )
        for topic in f.publishes.values():
            self.grant(TOPICS, self.topic(topic), account, "roles/pubsub.publisher")
        for g in f.roles:
            self.role(f, g)
        if f.has_database:
            self.database_access(f)
        for entry in f.secrets:
            _, project, secret, _ = rules.secret_parts(entry)
            if project in ("", self.cloud_project):
                self.create(("secrets",), secret, "--replication-policy=automatic")
            self.grant(("secrets",), secret, account, "roles/secretmanager.secretAccessor", project)
            where = f" --project={project}" if project else f" --project={self.cloud_project}"
            self.notes.append(
                f"secret {secret}: give it a value once, with "
                f"printf '%s' 'the value' | gcloud secrets versions add {secret}{where} --data-file=-"
            )

    def role(self, f: Function, g: rules.Grant) -> None:
        """A role of functions.yaml: on the project, or on the one resource it names (which
        setup creates when missing)."""
        account = f"serviceAccount:{f.service_account}"
        if g.scope == "bucket":
            self.bucket(g.resource, f.region)
            self.grant(("storage", "buckets"), f"gs://{g.resource}", account, g.role)
        elif g.scope == "topic":
            self.create(TOPICS, self.topic(g.resource))
            self.grant(TOPICS, self.topic(g.resource), account, g.role)
        elif g.scope == "secret":
            self.grant(("secrets",), g.resource, account, g.role)
        elif g.scope == "dataset":
            self.dataset(g.resource, f.region)
            dataset = f"projects/{self.cloud_project}/datasets/{g.resource}"
            self.grant_project(f.service_account, g.role, within(dataset, "BigQuery"))
        else:
            self.grant_project(f.service_account, g.role)

    def dataset(self, name: str, region: str) -> None:
        """A BigQuery dataset in BIGQUERY_LOCATION (else the function's region), when missing.
        gcloud has no GA command for it: `bq`, which the Google Cloud SDK installs."""
        location = self.project.variables(self.environment).get("BIGQUERY_LOCATION") or region
        where = f"{self.cloud_project}:{name}"
        self.add(
            Step(
                (
                    "bq",
                    f"--project_id={self.cloud_project}",
                    f"--location={location}",
                    "mk",
                    "--dataset",
                    f"--description={self.owner}",
                    where,
                ),
                exists=("bq", f"--project_id={self.cloud_project}", "show", "--dataset", where),
            )
        )

    def bucket(self, name: str, location: str) -> None:
        bucket = f"gs://{name}"
        self.add(
            Step(
                gcloud(
                    "storage",
                    "buckets",
                    "create",
                    bucket,
                    f"--project={self.cloud_project}",
                    f"--location={location}",
                    "--uniform-bucket-level-access",
                ),
                exists=gcloud("storage", "buckets", "describe", bucket, "--format=value(name)"),
            )
        )

    def database_access(self, f: Function) -> None:
        """Connect through the Cloud SQL connector; with IAM auth, sign in as a database user."""
        account = f"serviceAccount:{f.service_account}"
        project, _, rest = f.cloudsql_instance.partition(":")
        instance = rest.partition(":")[2]
        roles = ["roles/cloudsql.client"]
        if f.database_auth == "iam":
            roles.append("roles/cloudsql.instanceUser")
        name = f"projects/{project}/instances/{instance}"
        for role in roles:
            self.grant(("projects",), project, account, role, condition=within(name, "Cloud SQL"))
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
        """Deploy functions, let their callers invoke them, act as their identities (on those
        accounts only), update their push subscriptions (on those only)."""
        roles = []
        if any(not f.run for f in self.functions):
            roles.append("roles/cloudfunctions.developer")
        if any(f.run for f in self.functions):
            # Google's roles for `gcloud run deploy --source` (Cloud Run's "build service
            # account" page): build and deploy from source, and use the project's services.
            roles += ["roles/run.sourceDeveloper", "roles/serviceusage.serviceUsageConsumer"]
        if any(f.eventarc for f in self.functions):
            roles.append("roles/eventarc.developer")  # the functions' triggers are the deploy's
        if any(f.trigger_type == "scheduler" for f in self.functions):
            # Cloud Scheduler has no IAM on a job: its jobs are the project's.
            roles.append("roles/cloudscheduler.admin")
        if self.project.ci_provider == "cloud_build":
            roles += ["roles/cloudbuild.builds.builder", "roles/logging.logWriter"]
        for role in roles:
            self.grant_project(self.deployer, role)
        if any(f.run for f in self.functions):
            # A source deploy builds as the project's default build identity (the Compute
            # Engine default service account), which needs Cloud Run Builder.
            self.grant_project(BUILD_ACCOUNT.format(self.project_number), "roles/run.builder")
        if any(f.trigger_type != "http" or f.allow_unauthenticated for f in self.functions):
            self.invoker_admin()
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
        for f in self.functions:
            if f.push_subscription:
                name = self.project.deployed_name(f, self.environment)
                member = f"serviceAccount:{self.deployer}"
                self.grant(SUBSCRIPTIONS, name, member, "roles/pubsub.editor")

    def invoker_admin(self) -> None:
        """A custom role with the four permissions that grant or revoke who may invoke a
        function, for the deployer: no predefined role has less."""
        where = f"--project={self.cloud_project}"
        self.add(
            Step(
                gcloud(
                    "iam",
                    "roles",
                    "create",
                    INVOKER_ADMIN,
                    where,
                    "--title=gcf-template: who may invoke a function",
                    "--permissions=" + ",".join(INVOKER_ADMIN_PERMISSIONS),
                    "--stage=GA",
                ),
                exists=gcloud("iam", "roles", "describe", INVOKER_ADMIN, where),
                update=gcloud(
                    "iam",
                    "roles",
                    "update",
                    INVOKER_ADMIN,
                    where,
                    "--permissions=" + ",".join(INVOKER_ADMIN_PERMISSIONS),
                    "--quiet",
                ),
            )
        )
        self.grant_project(self.deployer, f"projects/{self.cloud_project}/roles/{INVOKER_ADMIN}")

    # -- resources

    def resources(self) -> None:
        """Topics, push subscriptions, dead-letter topics with a subscription each, and
        buckets, when missing; a push subscription is updated to what functions.yaml says."""
        for f in self.functions:
            topics = list(f.publishes.values())
            if f.trigger_type in ("pubsub", "scheduler"):
                topics.append(f.pubsub_topic)
            for topic in topics:
                self.create(TOPICS, self.topic(topic))
            if f.push_subscription:
                agent = f"serviceAccount:service-{self.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
                if f.dead_letter_topic:
                    dead_letter = self.topic(f.dead_letter_topic)
                    self.create(TOPICS, dead_letter)
                    self.create(SUBSCRIPTIONS, dead_letter, f"--topic={dead_letter}")
                    self.grant(TOPICS, dead_letter, agent, "roles/pubsub.publisher")
                name = self.project.deployed_name(f, self.environment)
                self.add(push_subscription(self, f, name, create=True))
                if f.dead_letter_topic:
                    self.grant(SUBSCRIPTIONS, name, agent, "roles/pubsub.subscriber")
            if f.trigger_type == "storage":
                self.bucket(f.storage_bucket, f.trigger_location)
        if any(f.trigger_type == "storage" for f in self.functions):
            # Cloud Storage publishes a bucket's events to Pub/Sub for Eventarc, as its service
            # agent, on topics Eventarc makes: the project is the narrowest scope.
            self.add(Step(gcloud("storage", "service-agent", f"--project={self.cloud_project}")))
            agent = f"service-{self.project_number}@gs-project-accounts.iam.gserviceaccount.com"
            self.grant_project(agent, "roles/pubsub.publisher")

    # -- CI

    def ci_section(self) -> str:
        return CI_SECTIONS.get(str(self.project.ci_provider), "Deploying")

    def provider(self) -> tuple[str, str] | None:
        """The CI pool id and provider resource name, when CI authenticates through a pool and
        the answers name its repository (none is set up before they do)."""
        ci = self.project.ci_provider
        if ci not in CI_IDENTITY or not self.project.answers.get("repository"):
            return None
        pool = CI_IDENTITY[ci][0]
        name = rules.provider_id(self.project.function_name)
        return pool, (
            f"projects/{self.project_number}/locations/global/workloadIdentityPools/{pool}/providers/{name}"
        )

    def ci_condition(self, claim: str) -> str:
        """The tokens the provider takes: the repository's (by id), and of those only jobs that
        run in one of its CI environments; production's only for a tag (GitLab: a protected
        branch or tag). A workflow pushed to any other branch gets none."""
        repository = f'assertion.{claim}=="{self.repository_id}"'
        if self.project.ci_provider == "gitlab_ci":
            repository += ' && assertion.ref_protected=="true"'
        allowed = [
            f'assertion.environment=="{e}"'
            + (' && assertion.ref_type=="tag"' if e == rules.PRODUCTION else "")
            for e in self.project.ci_environments
        ]
        return f"{repository} && ({' || '.join(f'({a})' for a in allowed)})"

    def ci_identity(self) -> None:
        """A pool, this repo's provider (which takes only its deploy jobs' tokens), and this
        environment's deploy jobs alone may act as this environment's deployer."""
        found = self.provider()
        if found is None:
            return
        pool, resource = found
        _, title, issuer, claim, name_claim = CI_IDENTITY[self.project.ci_provider]
        repository = str(self.project.answers["repository"])  # provider() found one
        where = (f"--project={self.cloud_project}", "--location=global")
        self.create(
            ("iam", "workload-identity-pools"),
            pool,
            f"--display-name={title}",
            scope=("--location=global",),
        )
        name = resource.rpartition("/")[2]
        owner = f"gcf-template: {repository}"
        settings = (
            f"--display-name={repository[:32]}",
            f"--description={owner}",
            f"--issuer-uri={issuer}",
            "--attribute-mapping=google.subject=assertion.sub,"
            f"attribute.{name_claim}=assertion.{name_claim},"
            f'attribute.deploy=assertion.{claim}+"/"+assertion.environment',
            f"--attribute-condition={self.ci_condition(claim)}",
        )
        provider = ("iam", "workload-identity-pools", "providers")
        pool_flag = f"--workload-identity-pool={pool}"
        self.add(
            Step(
                gcloud(*provider, "create-oidc", name, *where, pool_flag, *settings),
                exists=gcloud(
                    *provider, "describe", name, *where, pool_flag, "--format=value(description)"
                ),
                update=gcloud(*provider, "update-oidc", name, *where, pool_flag, *settings),
                expect=owner,
                conflict=f"the identity provider {name} exists and is not {repository}'s",
            )
        )
        if self.environment not in self.project.ci_environments:
            return
        member = (
            f"principalSet://iam.googleapis.com/projects/{self.project_number}/locations/global/"
            f"workloadIdentityPools/{pool}/attribute.deploy/{self.repository_id}/{self.environment}"
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

    def budget(self) -> None:
        """Alerts at 50%, 80% and 100% of the month's budget, and at 100% forecast, to the billing
        admins (by default) and to a Pub/Sub topic; a budget this setup made before (found by
        its display name) is updated to them."""
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
        budgets = ("billing", "budgets")
        self.add(
            Step(
                gcloud(
                    *budgets,
                    "create",
                    account,
                    *settings,
                    *(f"--threshold-rule={rule}" for rule in BUDGET_THRESHOLDS),
                ),
                exists=gcloud(
                    *budgets,
                    "list",
                    account,
                    f"--filter=displayName={self.budget_name()!r}",
                    "--format=value(name)",
                    "--limit=1",
                ),
                update=gcloud(
                    *budgets,
                    "update",
                    FOUND,
                    account,
                    *settings,
                    "--clear-threshold-rules",
                    *(f"--add-threshold-rule={rule}" for rule in BUDGET_THRESHOLDS),
                ),
            )
        )


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
    ci = project.ci_provider
    repository = str(answers.get("repository", ""))
    found = repository_id(ci, repository, dry_run) if ci in CI_IDENTITY and repository else ""
    setup = Setup(project, environment, cloud_project, number, found)
    setup.build()
    return setup
