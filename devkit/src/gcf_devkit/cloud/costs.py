"""What costs money while idle, or could overfill a database: `gcf check` and `gcf setup` warn."""

from __future__ import annotations

from gcf_devkit import rules
from gcf_devkit.cloud.deploy import database_variables
from gcf_devkit.project import Function, Project


def warm_instance_warnings(project: Project) -> list[str]:
    """One line for each function that keeps instances warm in production, and what that costs."""
    if "production" not in project.environments:
        return []
    return [
        f"cost: {f.name} keeps {f.min_instances} instance(s) warm in production "
        f"({f.memory}, {f.cpu} vCPU each): they spare its callers cold starts, and are "
        "billed around the clock, busy or idle. Set min_instances: 0 in functions.yaml to pay "
        "only for requests."
        for f in project.functions.values()
        if f.min_instances > 0
    ]


def shared_instance_warnings(project: Project) -> list[str]:
    """One line for each Cloud SQL instance that several environments' pools could overfill
    (an environment names an instance of its own with INSTANCE_CONNECTION_NAME in its env file)."""
    users: dict[str, list[tuple[str, Function]]] = {}
    for environment in project.environments:
        variables = project.variables(environment)
        for f in project.functions.values():
            if f.has_database:
                instance = database_variables(f, variables)["INSTANCE_CONNECTION_NAME"]
                users.setdefault(instance, []).append((environment, f))
    warnings = []
    for instance, pools in users.items():
        environments = list(dict.fromkeys(environment for environment, _ in pools))
        total = sum(f.max_instances * rules.pool_connections(f.concurrency) for _, f in pools)
        limit = min(f.max_connections for _, f in pools)
        if len(environments) > 1 and total > limit:
            warnings.append(
                f"database: {', '.join(environments)} share the Cloud SQL instance {instance}: "
                f"their pools may hold {total} connections at once, above its max_connections "
                f"({limit}). Give {environments[0]} an instance of its own "
                f"(INSTANCE_CONNECTION_NAME in env.{environments[0]}.yaml), or raise max_connections."
            )
    return warnings


def cost_warnings(project: Project) -> list[str]:
    """What `gcf check` and `gcf setup` warn of: warm instances, overfilled shared databases."""
    return warm_instance_warnings(project) + shared_instance_warnings(project)
