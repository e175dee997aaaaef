"""One ``close`` for the Java-backed simulators (ScienceWorld, TextWorldExpress): both talk to a JVM through
py4j, and both call ``close`` again from ``__del__``, where py4j then logs errors."""

from __future__ import annotations


class CloseOnce:
    """Mixin placed before a py4j simulator class: its ``close`` runs once, and not at all when ``__init__``
    failed before the gateway existed (``__del__`` calls ``close`` then too)."""

    _closed = False

    def close(self) -> None:
        if not self._closed and hasattr(self, "_gateway"):
            self._closed = True
            super().close()  # type: ignore[misc]
