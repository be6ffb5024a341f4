"""Cost guards: a budget needs the billing account that pays for the project."""

from __future__ import annotations

import re
from typing import Any

from ._common import got, whole_number

BILLING_ACCOUNT = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")


def billing_account_error(value: Any) -> str:
    if value and not (isinstance(value, str) and BILLING_ACCOUNT.fullmatch(value)):
        return (
            "billing_account: must be empty or a billing account id XXXXXX-XXXXXX-XXXXXX "
            f"of upper-case hexadecimal digits{got(value)}"
        )
    return ""


def monthly_budget_error(value: Any, billing_account: Any) -> str:
    if not whole_number(value) or value < 0:
        return f"monthly_budget: must be a whole amount of 0 or more (0: no budget){got(value)}"
    if value > 0 and not billing_account:
        return (
            "monthly_budget: a budget needs billing_account, the account that pays for "
            f"the project{got(value)}"
        )
    return ""
