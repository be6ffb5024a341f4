"""Testing a function repo: a real server, and the types of the pytest plugin's fixtures.

The fixtures (`serve`, `handle`, `database_url`) come from gcf_devkit.testing.plugin, which
pytest loads by itself; events are built with gcf_devkit.events.
"""

from gcf_devkit.testing._server import TEST_PROJECT, FunctionServer, free_port
from gcf_devkit.testing._types import Handle, LogRecord, Serve

__all__ = ["TEST_PROJECT", "FunctionServer", "Handle", "LogRecord", "Serve", "free_port"]
