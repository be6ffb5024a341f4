"""Cloud SQL for PostgreSQL: what a function needs to reach its database, and pools that fit."""

from __future__ import annotations

import re
from typing import Any

from ._common import got, whole_number

DATABASES = ("none", "cloudsql_postgres")
DATABASE_AUTH = ("iam", "password")
DATABASE_IPS = ("public", "private")
# Connections a pool may open above its size (database.py's MAX_OVERFLOW): pool_size is
# the function's concurrency, so this is headroom, not capacity.
POOL_OVERFLOW = 2
# The max_connections of a Cloud SQL for PostgreSQL instance with 3.75 GB up to 6 GB of
# memory (such as db-custom-1-3840), from Google's "Cloud SQL quotas and limits" page;
# the instance's `max_connections` flag overrides it.
DEFAULT_MAX_CONNECTIONS = 100
MAX_CONNECTIONS = (14, 262143)
POSTGRES_NAME = re.compile("[a-z_][a-z0-9_]{0,62}")
CLOUDSQL_INSTANCE = re.compile(
    r"(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9]):(?P<region>[a-z]+-[a-z]+[0-9]+)"
    r":(?P<instance>[a-z](?:[-a-z0-9]*[a-z0-9])?)"
)


def cloudsql_instance_error(value: str) -> str:
    match = CLOUDSQL_INSTANCE.fullmatch(str(value))
    if not match:
        return (
            "cloudsql_instance: must be the instance connection name PROJECT:REGION:INSTANCE, "
            "such as my-project:us-central1:orders-db (a project id, a region, and an instance "
            f"id of lower-case letters, digits and hyphens starting with a letter){got(value)}"
        )
    if len(match["project"]) + 1 + len(match["instance"]) > 98:
        return (
            "cloudsql_instance: PROJECT:INSTANCE must be at most 98 characters, "
            f"as Cloud SQL requires{got(value)}"
        )
    return ""


def database_name_error(value: str, key: str = "database_name") -> str:
    if not POSTGRES_NAME.fullmatch(str(value)) or str(value).startswith("pg_"):
        return (
            f"{key}: must be 1-63 lower-case letters, digits and underscores, starting with "
            f"a letter or underscore and not with pg_ (a PostgreSQL name that needs no quotes){got(value)}"
        )
    return ""


def iam_database_user(service_account: str) -> str:
    """The database user of a service account signing in with IAM."""
    return service_account.removesuffix(".gserviceaccount.com")


def database_user_error(value: str, auth: str, service_account: str) -> str:
    if auth == "iam":
        user = iam_database_user(service_account)
        if value != user:
            return (
                "database_user: with database_auth iam the user is the function's service "
                f"account without .gserviceaccount.com, {user}{got(value)}"
            )
        return ""
    return database_name_error(value, "database_user")


def database_ip_error(value: str, vpc: str) -> str:
    if value == "private" and vpc == "none":
        return (
            "database_ip: a private IP is reached through a VPC network, and vpc is none: "
            f"set vpc to connector or direct, or use database_ip public{got(value)}"
        )
    return ""


def pool_connections(concurrency: int) -> int:
    """The connections one instance's pool may hold: pool_size (the concurrency) + overflow."""
    return concurrency + POOL_OVERFLOW


def instances_that_fit(max_connections: int, concurrency: int) -> int:
    """How many instances' pools max_connections holds."""
    return max_connections // pool_connections(concurrency)


def max_connections_error(max_connections: Any, concurrency: int, min_instances: int) -> str:
    """The instance holds at least the pools of the warm instances (or of one)."""
    if not whole_number(max_connections):
        return f"max_connections: must be a whole number{got(max_connections)}"
    low, high = MAX_CONNECTIONS
    if not low <= max_connections <= high:
        return (
            f"max_connections: must be {low} to {high}, as PostgreSQL allows{got(max_connections)}"
        )
    needed = max(min_instances, 1) * pool_connections(concurrency)
    if needed > max_connections:
        who = f"min_instances ({min_instances})" if min_instances > 1 else "one instance"
        lower = " or min_instances" if min_instances > 1 else ""
        return (
            f"max_connections: must be at least {needed}, the connections of {who} x (pool_size "
            f"{concurrency} + max_overflow {POOL_OVERFLOW}); or lower concurrency{lower}"
            f"{got(max_connections)}"
        )
    return ""


def database_pool_error(max_connections: int, max_instances: int, concurrency: int) -> str:
    """Every instance's pool at once must fit in the database's max_connections."""
    total = max_instances * pool_connections(concurrency)
    if total > max_connections:
        fits = instances_that_fit(max_connections, concurrency)
        return (
            f"max_instances: max_instances ({max_instances}) x (pool_size {concurrency} + "
            f"max_overflow {POOL_OVERFLOW}) = {total} connections exceed the Cloud SQL for "
            f"PostgreSQL instance's max_connections ({max_connections}): "
            f"{'set max_instances to at most ' + str(fits) if fits else 'lower concurrency'}, "
            "lower concurrency (pool_size is the concurrency), or raise max_connections"
            f"{got(max_instances)}"
        )
    return ""


def default_max_instances(max_connections: int, concurrency: int, most: int = 100) -> int:
    """As many instances as fit in max_connections, at most `most`: so the defaults fit."""
    return min(most, instances_that_fit(max_connections, concurrency))
