"""Zazu: AutoML model zoo for edge vision.

Public surface (importing `zazu` does not import TensorFlow):

    from zazu import resolve_config, run_search, Registry
    result = run_search(resolve_config(overrides={"task": "classification"}))
"""

__version__ = "0.1.0"

from zazu.config import resolve_config  # noqa: E402
from zazu.errors import ConfigError, DatasetError, RegistryError, TrialFailed, ZazuError  # noqa: E402
from zazu.registry import Registry  # noqa: E402


def run_search(config, reporter=None, registry=None):
    """Run a whole search (see `zazu.search.driver.run_search`)."""
    from zazu.search.driver import run_search as _run_search

    return _run_search(config, reporter=reporter, registry=registry)


__all__ = [
    "ConfigError", "DatasetError", "Registry", "RegistryError", "TrialFailed", "ZazuError",
    "resolve_config", "run_search", "__version__",
]
