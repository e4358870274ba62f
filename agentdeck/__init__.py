"""agentdeck: run, watch and steer AI-agent workflows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentdeck")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
