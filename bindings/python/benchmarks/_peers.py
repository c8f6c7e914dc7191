"""What the benchmark scripts share about the clients they drive."""

from __future__ import annotations

from typing import Optional

# The module each client needs.
MODULES = {
    "libsse": "libsse",
    "libsse-async": "libsse",
    "libsse-background": "libsse",
    "launchdarkly": "ld_eventsource",
    "ssec": "ssec",
    "httpx": "httpx",
    "raw": "socket",
    "raw-async": "asyncio",
}


def dist_version(dist: str) -> str:
    """The installed version of a distribution ("?" if unknown)."""
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return "?"


def importable(name: str) -> Optional[str]:
    """None if client ``name`` can be imported here, else why not."""
    try:
        __import__(MODULES[name])
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None
