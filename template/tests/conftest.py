"""Fixtures (serve, handle, database_url) come from gcf-devkit's pytest plugin; their types
stay importable from here for older tests (new ones import them from gcf_devkit.testing)."""

from gcf_devkit.testing import FunctionServer, Handle, LogRecord, Serve

__all__ = ["FunctionServer", "Handle", "LogRecord", "Serve"]
