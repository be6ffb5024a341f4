"""`make setup`: the one-time setup of a project, from functions.yaml and the answers.

For every trigger, the pipeline preset and each CI provider: `make setup DRY_RUN=1` prints
shell whose commands the real gcloud (and bq) parser accepts and that grant no broad role,
each identity what it needs and no more; against a fake `gcloud` on PATH, a first run
creates everything and a second run creates nothing. Bad billing answers are refused with
the field named.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from gcf_devkit import rules
from gcloud_parser import commands_of, parse_errors

from conftest import GCF, TRIGGERS, check, run

BUDGET = {"billing_account": "01AB23-45CD67-89EF01", "monthly_budget": 120}

# name -> answers: every trigger, the pipeline, every CI provider, a budget and secrets.
VARIANTS: dict[str, dict[str, Any]] = {
    **{f"single-{t}": {"trigger_type": t} for t in TRIGGERS},
    "pipeline-budget": {"preset": "pipeline", **BUDGET, "min_instances": 1},
    "ci-gitlab": {
        "trigger_type": "scheduler",
        "ci_provider": "gitlab_ci",
        "repository": "acme/platform/orders",
        "secrets": ["API_KEY=api-key:latest", "T=projects/shared-secrets/secrets/token:1"],
    },
    "ci-cloud-build": {"trigger_type": "pubsub", "ci_provider": "cloud_build"},
    "ci-none": {"ci_provider": "none", "vpc": "connector"},
    "functions-storage": {"trigger_type": "storage", "deploy_api": "functions"},
    "functions-pipeline": {"preset": "pipeline", "deploy_api": "functions"},
}
BROAD_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
# The project-wide roles setup may grant without a condition, and to whom.
PROJECT_WIDE = {
    "roles/eventarc.eventReceiver",  # the trigger identity: Eventarc has no narrower scope
    "roles/pubsub.publisher",  # the Cloud Storage service agent, as Google requires
    "roles/cloudfunctions.developer",  # the deployer (Functions API route)
    # The deployer of the Cloud Run route, as Google's page on source deploys asks: deploy from
    # source (no role narrower than the project), use the project's services; make the
    # functions' Eventarc triggers; and the build identity builds.
    "roles/run.sourceDeveloper",
    "roles/serviceusage.serviceUsageConsumer",
    "roles/eventarc.developer",
    "roles/run.builder",
    "roles/cloudscheduler.admin",  # the deployer of a Scheduler function
    "roles/cloudbuild.builds.builder",  # Cloud Build's deployer
    "roles/logging.logWriter",
    "projects/my-project-id/roles/gcfTemplateInvokerAdmin",
}


# The generated Makefile, run with the shared environment (conftest.py) as its .venv.
MAKE = ["make", f"VENV={sys.prefix}", "-o", f"{sys.prefix}/.installed"]


def printed(path: Path, environment: str) -> list[str]:
    """What `make setup DRY_RUN=1` prints: one line of shell for each step."""
    return check([*MAKE, "setup", f"ENV={environment}", "DRY_RUN=1"], path).splitlines()


def dry_run(path: Path, environment: str) -> list[str]:
    """Every command of the dry run's shell, in order (both branches of an `if`)."""
    return [shlex.join(words) for words in commands_of(printed(path, environment))]


def flag(words: list[str], name: str) -> str:
    return next((w.partition("=")[2] for w in words if w.startswith(f"--{name}=")), "")


@pytest.fixture
def repo(render, variant: str) -> Path:
    return render(**VARIANTS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_dry_run_parses_and_grants_least_privilege(repo: Path, variant: str) -> None:
    shell = printed(repo, "production") + printed(repo, "dev")
    lines = [shlex.join(words) for words in commands_of(shell)]
    assert lines, "make setup DRY_RUN=1 printed no command"
    for line in lines:
        words = shlex.split(line)
        role = flag(words, "role")
        assert role not in BROAD_ROLES, line
        if role in rules.ESCALATION_ROLES:
            # Only to act as one account: the deployer as each function's, and this repo's CI
            # jobs of one environment as its deployer.
            assert role in ("roles/iam.serviceAccountUser", "roles/iam.workloadIdentityUser"), line
            assert words[1:3] == ["iam", "service-accounts"], line
            if role == "roles/iam.workloadIdentityUser":
                assert "/attribute.deploy/REPOSITORY_ID/" in flag(words, "member"), line
            # On one service account, never on the project.
            assert words[1:3] == ["iam", "service-accounts"], line
        if words[1:3] == ["projects", "add-iam-policy-binding"] and role not in PROJECT_WIDE:
            # Any other role on the project is limited to the resources it is for.
            assert flag(words, "condition").startswith("expression=resource.name"), line
    # The real gcloud (and bq) parses every command of both environments.
    assert parse_errors(shell, repo) == []


@pytest.mark.parametrize(
    "variant", ["single-storage", "pipeline-budget", "ci-gitlab", "functions-storage"]
)
def test_each_identity_gets_what_it_needs(repo: Path, variant: str) -> None:
    lines = dry_run(repo, "dev")
    words = [shlex.split(line) for line in lines]
    grants = {
        (w[1], w[2], w[w.index("add-iam-policy-binding") + 1], flag(w, "member"), flag(w, "role"))
        for w in words
        if "add-iam-policy-binding" in w
    }
    created = [
        w for w in words if "create" in w[2:4] or w[1:4] == ["iam", "service-accounts", "create"]
    ]
    assert created, lines
    deployer = "serviceAccount:my-function-86e4-dep-dev@my-project-id.iam.gserviceaccount.com"
    trigger = "serviceAccount:my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
    runtime = "serviceAccount:my-function-86e4-sa@my-project-id.iam.gserviceaccount.com"
    functions = yaml.safe_load((repo / "functions.yaml").read_text())["functions"]
    runtimes = {
        f"serviceAccount:{settings.get('service_account') or runtime.partition(':')[2]}"
        for settings in functions.values()
    }
    project_roles = {(m, r) for kind, _, _, m, r in grants if kind == "projects"}
    if variant != "ci-gitlab":  # event delivery: not for a Scheduler function
        assert (trigger, "roles/eventarc.eventReceiver") in project_roles
    # Nobody may invoke every function of the project: `gcf deploy` lets the trigger
    # identity invoke each event function on that function.
    assert not [g for g in project_roles if g[1] == "roles/run.invoker"]
    route = VARIANTS[variant].get("deploy_api", "run")
    functions_api = (deployer, "roles/cloudfunctions.developer")
    assert (functions_api in project_roles) is (route == "functions")
    run_roles = {
        (deployer, "roles/run.sourceDeveloper"),
        (deployer, "roles/serviceusage.serviceUsageConsumer"),
        (
            "serviceAccount:PROJECT_NUMBER-compute@developer.gserviceaccount.com",
            "roles/run.builder",
        ),
    }
    assert (run_roles <= project_roles) is (route == "run")
    eventarc = (deployer, "roles/eventarc.developer")
    assert (eventarc in project_roles) is (route == "run" and variant != "ci-gitlab")
    # Pub/Sub roles are granted on topics and subscriptions, but for the one Google requires
    # of the Cloud Storage service agent (publish its notifications) on the project.
    assert not [
        g
        for g in project_roles
        if g[1].startswith("roles/pubsub.") and "@gs-project-accounts." not in g[0]
    ]
    on_accounts = {
        (resource, m, r) for kind, sub, resource, m, r in grants if sub == "service-accounts"
    }
    for account in (*runtimes, trigger):
        email = account.partition(":")[2]
        assert (email, deployer, "roles/iam.serviceAccountUser") in on_accounts
    # Only this environment's deployer is made (and used) here.
    assert not [w for w in words if "-dep-prd" in " ".join(w) or "-dep-stg" in " ".join(w)]
    if variant == "single-storage":
        agent = "serviceAccount:service-PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com"
        assert (agent, "roles/pubsub.publisher") in project_roles
        assert any(w[1:4] == ["storage", "buckets", "create"] for w in words)
    if variant == "ci-gitlab":
        secrets = {(resource, m, r) for kind, _, resource, m, r in grants if kind == "secrets"}
        assert secrets == {
            ("api-key", runtime, "roles/secretmanager.secretAccessor"),
            ("token", runtime, "roles/secretmanager.secretAccessor"),
        }
        assert (deployer, "roles/cloudscheduler.admin") in project_roles
        provider = next(w for w in words if "create-oidc" in w)
        assert flag(provider, "attribute-condition") == (
            'assertion.project_id=="REPOSITORY_ID" && assertion.ref_protected=="true" && '
            '((assertion.environment=="dev") || '
            '(assertion.environment=="production" && assertion.ref_type=="tag"))'
        )
        assert "--issuer-uri=https://gitlab.com" in provider
    if variant == "pipeline-budget":
        # Each function runs as an identity of its own, with its own rights only.
        assert len(runtimes) == len(functions) == 3
        assert runtime not in runtimes
        scoped = {
            (kind if sub == "add-iam-policy-binding" else sub, resource, m, r)
            for kind, sub, resource, m, r in grants
        }
        validate, enrich, notify = (
            f"serviceAccount:{functions[n]['service_account']}" for n in functions
        )
        assert ("topics", "validated-records-dev", validate, "roles/pubsub.publisher") in scoped
        assert ("topics", "enrichment-complete-dev", enrich, "roles/pubsub.publisher") in scoped
        assert (
            "secrets",
            "sendgrid-api-key",
            notify,
            "roles/secretmanager.secretAccessor",
        ) in scoped
        assert not [g for g in scoped if g[0] == "secrets" and g[2] != notify]
        state = ("buckets", "gs://my-project-id-uploads-state", notify, "roles/storage.objectUser")
        assert state in scoped
        assert not [g for g in scoped if g[2] == notify and g[1] == "gs://my-project-id-uploads"]
        # The deployer edits each push subscription, never Pub/Sub project-wide.
        subscriptions = {
            (resource, m, r) for kind, sub, resource, m, r in grants if sub == "subscriptions"
        }
        assert ("enrich-records-dev", deployer, "roles/pubsub.editor") in subscriptions
        topics = [w[4] for w in words if w[1:4] == ["pubsub", "topics", "create"]]
        assert "validated-records-dev" in topics
        # enrich-records writes to BigQuery: its API is enabled, once each.
        [enable] = [w for w in words if w[1:3] == ["services", "enable"]]
        assert "bigquery.googleapis.com" in enable
        assert len(enable) == len(set(enable))
        assert "enrichment-complete-dead-letter-dev" in topics
        budget = next(w for w in words if w[1:4] == ["billing", "budgets", "create"])
        assert flag(budget, "budget-amount") == "120"
        assert flag(budget, "billing-account") == BUDGET["billing_account"]
        thresholds = [w.partition("=")[2] for w in budget if w.startswith("--threshold-rule=")]
        assert thresholds == [
            "percent=0.5",
            "percent=0.8",
            "percent=1.0",
            "percent=1.0,basis=forecasted-spend",
        ]
        assert (
            flag(budget, "notifications-rule-pubsub-topic")
            == "projects/my-project-id/topics/budget-alerts"
        )
        assert lines.index(
            next(line for line in lines if "topics create budget-alerts" in line)
        ) < lines.index(shlex.join(budget))


def test_github_provider_accepts_the_repositorys_deploy_jobs_only(render) -> None:
    """Only jobs of this repository (by its immutable id) in one of the deploy environments get
    a token, production's from tags only; each environment's token is its own deployer's."""
    path = render(trigger_type="pubsub")
    for environment, deployer in (("production", "prd"), ("dev", "dev")):
        lines = dry_run(path, environment)
        provider = next(shlex.split(line) for line in lines if "create-oidc" in line)
        assert flag(provider, "attribute-condition") == (
            'assertion.repository_id=="REPOSITORY_ID" && ((assertion.environment=="dev") || '
            '(assertion.environment=="production" && assertion.ref_type=="tag"))'
        )
        [binding] = [
            shlex.split(line) for line in lines if "roles/iam.workloadIdentityUser" in line
        ]
        assert (
            binding[4] == f"my-function-86e4-dep-{deployer}@my-project-id.iam.gserviceaccount.com"
        )
        assert flag(binding, "member") == (
            "principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/"
            f"workloadIdentityPools/github/attribute.deploy/REPOSITORY_ID/{environment}"
        )


FAKE_GCLOUD = """#!/bin/bash
# Records each call; `describe` and `list` succeed when EXISTS is 1 (everything exists, made
# by this repo's setup: described as its own, each push subscription on its own topic).
printf '%s\\n' "$*" >> "$GCLOUD_LOG"
case " $* " in
  *" projects describe "*) echo 123456789012 ;;
  *" describe "*|*" show "*) [ "$EXISTS" = 1 ] || { echo "NOT_FOUND" >&2; exit 1; } ;;&
  *" service-accounts describe "*"value(description)"*) echo "$OWNER, production" ;;
  *" providers describe "*"value(description)"*) echo "$OWNER" ;;
  *" subscriptions describe enrich-records "*) echo projects/my-project-id/topics/validated-records ;;
  *" subscriptions describe my-function "*) echo projects/my-project-id/topics/my-function-ticks ;;
  *" subscriptions describe notify-stakeholders "*)
    echo projects/my-project-id/topics/enrichment-complete ;;
  *" budgets list "*) [ "$EXISTS" = 1 ] && echo billingAccounts/01AB23-45CD67-89EF01/budgets/b-1 ;;
esac
exit 0
"""


def fake_setup(path: Path, tmp_path: Path, exists: bool) -> tuple[Any, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("gcloud", "bq"):  # bq makes the BigQuery dataset
        (bin_dir / tool).write_text(FAKE_GCLOUD)
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / f"calls-{exists}.log"
    result = run(
        [GCF, "setup", "production"],
        path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        GCLOUD_LOG=str(log),
        EXISTS="1" if exists else "0",
        OWNER=f"gcf-template: {yaml.safe_load((path / '.copier-answers.yml').read_text())['repository']}",
        REPOSITORY_ID="4242",
    )
    return result, log.read_text().splitlines() if log.exists() else []


def creates(calls: list[str]) -> list[str]:
    return [c for c in calls if " create " in f" {c} " or c.split()[:3][-1:] == ["create-oidc"]]


@pytest.mark.parametrize("variant", ["pipeline-budget", "ci-gitlab"])
def test_first_run_creates_everything_and_second_run_nothing(
    repo: Path, variant: str, tmp_path: Path
) -> None:
    first, calls = fake_setup(repo, tmp_path, exists=False)
    assert first.returncode == 0, first.stderr
    # The fake records its arguments joined by spaces.
    planned = [" ".join(shlex.split(line)[1:]) for line in dry_run(repo, "production")]
    made = creates(calls)
    # Every resource the dry run shows is created, with the project number looked up.
    assert sorted(made) == sorted(
        line.replace("PROJECT_NUMBER", "123456789012").replace("REPOSITORY_ID", "4242")
        for line in creates(planned)
    )
    assert any("service-accounts create my-function-86e4-dep-prd" in c for c in made)
    assert "WORKLOAD_IDENTITY_PROVIDER=projects/123456789012/" in first.stdout
    # It points to the README section that says where the values go, which exists.
    section = "GitHub Actions" if variant == "pipeline-budget" else "GitLab CI/CD"
    assert f'(README.md, "{section}")' in first.stderr
    assert f"### {section}\n" in (repo / "README.md").read_text()

    second, calls = fake_setup(repo, tmp_path, exists=True)
    assert second.returncode == 0, second.stderr
    assert creates(calls) == []
    assert "exists, left as it is" in second.stderr
    if variant == "pipeline-budget":
        update = next(c for c in calls if c.startswith("billing budgets update"))
        assert "billingAccounts/01AB23-45CD67-89EF01/budgets/b-1" in update
    assert any("providers update-oidc" in c for c in calls)


def test_a_failure_stops_and_says_what_was_not_done(render, tmp_path: Path) -> None:
    path = render(**VARIANTS["pipeline-budget"])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "bq"):
        (bin_dir / tool).write_text(
            FAKE_GCLOUD.replace(
                "exit 0\n", 'case "$*" in *"topics create"*) exit 3 ;; esac\nexit 0\n'
            )
        )
        (bin_dir / tool).chmod(0o755)
    result = run(
        [GCF, "setup", "production"],
        path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        GCLOUD_LOG=str(tmp_path / "log"),
        EXISTS="0",
        REPOSITORY_ID="4242",
    )
    assert result.returncode == 2
    assert "failed: gcloud pubsub topics create" in result.stderr
    assert "not run:" in result.stderr
    assert "billing budgets create" in result.stderr.partition("not run:")[2]


def test_warm_instances_are_a_warning_in_production(render) -> None:
    path = render(min_instances=1)
    result = run([*MAKE, "check"], path)
    assert result.returncode == 0, result.stderr
    assert "keeps 1 instance(s) warm in production" in result.stderr
    readme = (path / "README.md").read_text()
    assert "### Cost" in readme
    assert "keeps 1 instance(s) of each function warm" in readme
    assert "keeps 1 instance(s) warm" not in run([*MAKE, "check"], render()).stderr


def test_warm_instances_outside_production_are_refused(render, tmp_path: Path) -> None:
    path = render(environments=["dev"], ci_provider="none")
    manifest = path / "functions.yaml"
    original = manifest.read_text()
    try:
        manifest.write_text(original.rstrip("\n") + "\n    min_instances: 1\n")
        result = run([*MAKE, "check"], path)
        assert result.returncode != 0
        assert "min_instances: instances are kept warm in production only" in result.stderr
    finally:
        manifest.write_text(original)


@pytest.mark.parametrize(
    ("answers", "field", "rule"),
    [
        ({"billing_account": "01ab23-45cd67-89ef01"}, "billing_account", "upper-case hexadecimal"),
        ({"billing_account": "01AB23-45CD67"}, "billing_account", "XXXXXX-XXXXXX-XXXXXX"),
        ({"billing_account": "01AB23-45CD67-89EF0G"}, "billing_account", "XXXXXX-XXXXXX-XXXXXX"),
        ({**BUDGET, "monthly_budget": -1}, "monthly_budget", "whole amount of 0 or more"),
        ({"monthly_budget": 50}, "monthly_budget", "needs billing_account"),
        ({"min_instances": 1, "environments": ["dev"]}, "min_instances", "production only"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_cost_answers_are_refused(
    answers: dict[str, Any], field: str, rule: str, template_copy: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "fn"
    with pytest.raises(ValueError, match=field) as error:
        copier.run_copy(
            str(template_copy), destination, data=answers, defaults=True, unsafe=True, quiet=True
        )
    assert rule in str(error.value)
    assert not destination.exists()


@pytest.mark.parametrize(
    ("function_name", "provider"),
    [
        ("abc", "abc-ba78"),
        ("gcp-tools", "ci-gcp-tools-97d7"),
        ("orders-ingest-service-a", "orders-ingest-service-a-d3a0"),
        ("orders-ingest-service-b", "orders-ingest-service-b-b194"),
    ],
)
def test_the_identity_provider_id_is_one_google_takes_and_this_repos_own(
    render, function_name: str, provider: str
) -> None:
    """4-32 characters, not starting with the reserved gcp-, whatever the function's name; and
    two repos whose names differ only at the end get providers and deployers of their own."""
    lines = dry_run(render(function_name=function_name), "production")
    [oidc] = [shlex.split(line) for line in lines if " create-oidc " in line]
    assert oidc[oidc.index("create-oidc") + 1] == provider
    assert 4 <= len(provider) <= 32
    assert not provider.startswith("gcp-")
    deployer = rules.deployer(function_name, "my-project-id", "production")
    assert deployer.endswith(f"-{provider[-4:]}-dep-prd@my-project-id.iam.gserviceaccount.com")
    assert f"gcloud iam service-accounts describe {deployer}" in "\n".join(lines)


@pytest.mark.parametrize("environments", [["dev", "production"], ["dev", "staging", "production"]])
def test_every_github_job_that_gets_a_token_runs_in_an_environment_the_provider_takes(
    render, environments: list[str]
) -> None:
    path = render(environments=environments)
    workflow = yaml.safe_load((path / ".github" / "workflows" / "ci.yml").read_text())
    token_jobs = {
        name: job
        for name, job in workflow["jobs"].items()
        if job.get("permissions", {}).get("id-token") == "write"
    }
    # CI deploys dev from the default branch and production from tags; staging by hand.
    deployed = [job["environment"] for job in token_jobs.values()]
    assert deployed == ["dev", "production"]
    provider = next(
        shlex.split(line) for line in dry_run(path, "production") if "create-oidc" in line
    )
    condition = flag(provider, "attribute-condition")
    # dev from any ref its environment's rules allow; production from tags only; staging by
    # hand (no token: its deployer has no binding to the provider).
    assert condition.endswith(
        '((assertion.environment=="dev") || '
        '(assertion.environment=="production" && assertion.ref_type=="tag"))'
    )
    for environment in environments:
        bindings = [line for line in dry_run(path, environment) if "workloadIdentityUser" in line]
        assert len(bindings) == (environment in deployed), (environment, bindings)
