"""`make setup`: the one-time setup of a project, from functions.yaml and the answers.

For every trigger, the pipeline preset and each CI provider: `make setup DRY_RUN=1` prints
commands that the real gcloud parser accepts and that grant no broad role; against a fake
`gcloud` on PATH, a first run creates everything and a second run creates nothing. Bad
billing answers are refused with the field named.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from gcloud_parser import parse_errors

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
}
BROAD_ROLES = ("roles/owner", "roles/editor")


# The generated Makefile, run with the shared environment (conftest.py) as its .venv.
MAKE = ["make", f"VENV={sys.prefix}", "-o", f"{sys.prefix}/.installed"]


def dry_run(path: Path, environment: str) -> list[str]:
    output = check([*MAKE, "setup", f"ENV={environment}", "DRY_RUN=1"], path)
    lines = output.splitlines()
    assert all(line.startswith("gcloud ") for line in lines), output
    return lines


def flag(words: list[str], name: str) -> str:
    return next((w.partition("=")[2] for w in words if w.startswith(f"--{name}=")), "")


@pytest.fixture
def repo(render, variant: str) -> Path:
    return render(**VARIANTS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_dry_run_parses_and_grants_least_privilege(repo: Path, variant: str) -> None:
    production = dry_run(repo, "production")
    lines = production + dry_run(repo, "dev")
    assert lines, "make setup DRY_RUN=1 printed no command"
    for line in lines:
        words = shlex.split(line)
        role = flag(words, "role")
        assert role not in BROAD_ROLES, line
        if role == "roles/iam.serviceAccountUser":
            # On one service account, never on the project.
            assert words[1:3] == ["iam", "service-accounts"], line
    # The real gcloud parses every command of both environments.
    assert parse_errors(lines, repo) == []


@pytest.mark.parametrize("variant", ["single-storage", "pipeline-budget", "ci-gitlab"])
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
    deployer = "serviceAccount:my-function-deployer@my-project-id.iam.gserviceaccount.com"
    trigger = "serviceAccount:my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
    runtime = "serviceAccount:my-function-86e4-sa@my-project-id.iam.gserviceaccount.com"
    project_roles = {(m, r) for kind, _, _, m, r in grants if kind == "projects"}
    assert (trigger, "roles/eventarc.eventReceiver") in project_roles
    assert (trigger, "roles/run.invoker") in project_roles
    assert (deployer, "roles/cloudfunctions.developer") in project_roles
    on_accounts = {
        (resource, m, r) for kind, sub, resource, m, r in grants if sub == "service-accounts"
    }
    for account in (runtime, trigger):
        email = account.partition(":")[2]
        assert (email, deployer, "roles/iam.serviceAccountUser") in on_accounts
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
        assert (
            flag(provider, "attribute-condition")
            == "assertion.project_path=='acme/platform/orders' && assertion.ref_protected=='true'"
        )
        assert "--issuer-uri=https://gitlab.com" in provider
    if variant == "pipeline-budget":
        # Deploys wire the Pub/Sub service agent's roles on dead-letter topics and subscriptions.
        assert (deployer, "roles/pubsub.admin") in project_roles
        assert (deployer, "roles/pubsub.editor") not in project_roles
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
        rules = [w.partition("=")[2] for w in budget if w.startswith("--threshold-rule=")]
        assert rules == [
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
    """Only jobs in one of the deploy environments, whose deployment rules decide which refs may
    deploy, get a token: not a workflow pushed to any branch."""
    lines = dry_run(render(trigger_type="pubsub"), "production")
    provider = next(shlex.split(line) for line in lines if "create-oidc" in line)
    assert flag(provider, "attribute-condition") == (
        "assertion.repository=='my-org/my-function' && assertion.environment in ['dev', 'production']"
    )
    binding = next(shlex.split(line) for line in lines if "roles/iam.workloadIdentityUser" in line)
    assert binding[4] == "my-function-deployer@my-project-id.iam.gserviceaccount.com"
    assert flag(binding, "member") == (
        "principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/"
        "workloadIdentityPools/github/attribute.repository/my-org/my-function"
    )


FAKE_GCLOUD = """#!/bin/sh
# Records each call; `describe` and `list` succeed when EXISTS is 1 (everything exists).
printf '%s\\n' "$*" >> "$GCLOUD_LOG"
case " $* " in
  *" projects describe "*) echo 123456789012 ;;
  *" describe "*) [ "$EXISTS" = 1 ] || { echo "NOT_FOUND" >&2; exit 1; } ;;
  *" budgets list "*) [ "$EXISTS" = 1 ] && echo billingAccounts/01AB23-45CD67-89EF01/budgets/b-1 ;;
esac
exit 0
"""


def fake_setup(path: Path, tmp_path: Path, exists: bool) -> tuple[Any, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD)
    gcloud.chmod(gcloud.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / f"calls-{exists}.log"
    result = run(
        [GCF, "setup", "production"],
        path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        GCLOUD_LOG=str(log),
        EXISTS="1" if exists else "0",
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
        line.replace("PROJECT_NUMBER", "123456789012") for line in creates(planned)
    )
    assert any("service-accounts create my-function-deployer" in c for c in made)
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
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(
        FAKE_GCLOUD.replace("exit 0\n", 'case "$*" in *"topics create"*) exit 3 ;; esac\nexit 0\n')
    )
    gcloud.chmod(0o755)
    result = run(
        [GCF, "setup", "production"],
        path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        GCLOUD_LOG=str(tmp_path / "log"),
        EXISTS="0",
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
    [("abc", "abc-ci"), ("gcp-tools", "ci-gcp-tools"), ("orders", "orders")],
)
def test_the_identity_provider_id_is_one_google_takes(
    render, function_name: str, provider: str
) -> None:
    """4-32 characters, not starting with the reserved gcp-, whatever the function's name."""
    lines = dry_run(render(function_name=function_name), "production")
    [oidc] = [shlex.split(line) for line in lines if " create-oidc " in line]
    assert oidc[oidc.index("create-oidc") + 1] == provider
    assert 4 <= len(provider) <= 32 and not provider.startswith("gcp-")


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
    assert condition.endswith("assertion.environment in ['dev', 'production']")
