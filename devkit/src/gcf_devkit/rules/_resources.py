"""Resources of an instance (memory, CPU, concurrency), timeouts, and instance counts.

The limits are those of Cloud Run functions: the memory sizes and the vCPU each has by
default, the memory each number of vCPUs allows, and concurrency above 1 only with 1 vCPU
or more.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._common import got

MEMORY_MI = {
    "128Mi": 128,
    "256Mi": 256,
    "512Mi": 512,
    "1Gi": 1024,
    "2Gi": 2048,
    "4Gi": 4096,
    "8Gi": 8192,
    "16Gi": 16384,
    "32Gi": 32768,
}
# The vCPU an instance gets when only its memory is set.
DEFAULT_CPUS = {
    "128Mi": "0.083",
    "256Mi": "0.167",
    "512Mi": "0.333",
    "1Gi": "0.583",
    "2Gi": "1",
    "4Gi": "2",
    "8Gi": "2",
    "16Gi": "4",
    "32Gi": "8",
}
# The most and the least memory each whole number of vCPUs can have.
MAX_MEMORY_MI = {1: 4096, 2: 8192, 4: 16384, 6: 24576, 8: 32768}
MIN_MEMORY_MI = {1: 0, 2: 0, 4: 2048, 6: 4096, 8: 4096}
# What a function spends its time on sets the defaults of its memory and concurrency.
WORKLOADS = ("io_bound", "mixed", "cpu_bound")
WORKLOAD_MEMORY = {"io_bound": "512Mi", "mixed": "1Gi", "cpu_bound": "2Gi"}
WORKLOAD_CONCURRENCY = {"io_bound": 80, "mixed": 20, "cpu_bound": 1}
HTTP_TIMEOUT = 3600
EVENT_TIMEOUT = 540
MAX_INSTANCES = 1000


def default_cpu(memory: str, workload: str) -> str:
    """The memory's own vCPU, raised to 1 when the workload serves requests concurrently."""
    cpu = DEFAULT_CPUS.get(memory, "1")
    return "1" if workload != "cpu_bound" and float(cpu) < 1 else cpu


def memory_error(value: str) -> str:
    if value not in MEMORY_MI:
        return f"memory: must be one of {', '.join(MEMORY_MI)}{got(value)}"
    return ""


def _size(mi: int) -> str:
    """A limit of MAX_MEMORY_MI or MIN_MEMORY_MI that a message names: whole GiB."""
    return f"{mi // 1024}Gi"


def cpu_error(value: Any, memory: str) -> str:
    text = str(value)
    mi = MEMORY_MI.get(memory, 0)
    if text.isdigit() and int(text) > 1 and int(text) not in (2, 4, 6, 8):
        return f"cpu: above 1 vCPU, only 2, 4, 6 or 8 are possible{got(text)}"
    if not re.fullmatch(r"0\.[0-9]{1,3}|1(\.0{1,3})?|[2468]", text) or float(text) < 0.08:
        return (
            "cpu: must be a number of vCPUs from 0.08 to 1 (at most 3 decimals), "
            f"or 2, 4, 6 or 8{got(text)}"
        )
    cpu = float(text)
    if cpu < 1 and mi > 1024:
        return (
            f"cpu: below 1 vCPU, memory can be at most 1Gi; with memory {memory} "
            f"use cpu 1 or more{got(text)}"
        )
    if cpu < 0.5 and mi > 512:
        return (
            f"cpu: memory above 512Mi needs at least 0.5 vCPU; with memory {memory} "
            f"use cpu 0.5 or more{got(text)}"
        )
    whole = max(1, math.ceil(cpu))
    if mi > MAX_MEMORY_MI[whole]:
        enough = min(c for c, most in MAX_MEMORY_MI.items() if most >= mi)
        return (
            f"cpu: {text} vCPU allows at most {_size(MAX_MEMORY_MI[whole])} of memory; "
            f"with memory {memory} use cpu {enough} or more{got(text)}"
        )
    if mi < MIN_MEMORY_MI[whole]:
        return (
            f"cpu: {text} vCPUs need at least {_size(MIN_MEMORY_MI[whole])} of memory "
            f"(memory is {memory}): use less cpu or more memory{got(text)}"
        )
    return ""


def concurrency_error(value: int, cpu: Any, memory: str) -> str:
    if not 1 <= value <= 1000:
        return f"concurrency: must be 1 to 1000{got(value)}"
    if value > 1 and float(cpu) < 1:
        return (
            f"concurrency: above 1 needs at least 1 vCPU, and cpu is {cpu} with memory {memory}: "
            f"set cpu to 1 or more, or concurrency to 1{got(value)}"
        )
    return ""


def timeout_limit(http: bool) -> int:
    return HTTP_TIMEOUT if http else EVENT_TIMEOUT


def timeout_error(value: int, http: bool) -> str:
    limit = timeout_limit(http)
    if not 1 <= value <= limit:
        kind = "HTTP" if http else "event-driven"
        return f"timeout: must be 1 to {limit} seconds for {kind} functions{got(value)}"
    return ""


def min_instances_error(value: int, environments: list[str]) -> str:
    """Instances are kept warm in production only: elsewhere they cost money for nothing."""
    if not 0 <= value <= MAX_INSTANCES:
        return f"min_instances: must be 0 to {MAX_INSTANCES}{got(value)}"
    if value > 0 and "production" not in environments:
        return (
            "min_instances: instances are kept warm in production only, and environments "
            f"has no production: use 0{got(value)}"
        )
    return ""


def max_instances_error(value: int, min_instances: int) -> str:
    if not 1 <= value <= MAX_INSTANCES:
        return f"max_instances: must be 1 to {MAX_INSTANCES}{got(value)}"
    if value < min_instances:
        return f"max_instances: must be at least min_instances ({min_instances}){got(value)}"
    return ""
