"""The tests' fixtures (serve, handle, database_url) come from gcf-devkit's pytest plugin.

The types of those fixtures stay importable from here too, for tests written before the
plugin; new tests import them from gcf_devkit.testing.
"""

from gcf_devkit.testing import FunctionServer as FunctionServer
from gcf_devkit.testing import Handle as Handle
from gcf_devkit.testing import LogRecord as LogRecord
from gcf_devkit.testing import Serve as Serve
