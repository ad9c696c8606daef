"""Exceptions raised by Headroom.

Compression itself fails open (the original messages go through), so these
surface only where a caller asked for something Headroom cannot give: a bad
configuration, malformed input it was told to validate, or a retrieval of an
original that is unknown or expired.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CompressionError",
    "ConfigurationError",
    "HeadroomError",
    "ProviderError",
    "RetrievalError",
    "StorageError",
    "ValidationError",
]


class HeadroomError(Exception):
    """Base class of every Headroom error; `details` carries context for debugging."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = details or {}


class ConfigurationError(HeadroomError):
    """A configuration value is invalid."""


class ValidationError(HeadroomError):
    """The messages are not in a shape Headroom can read (e.g. not a list of dicts), or
    `HeadroomClient.validate_setup(raise_on_error=True)` found the setup invalid."""


class CompressionError(HeadroomError):
    """Compression failed; raised only when the caller opted out of failing open."""


class ProviderError(HeadroomError):
    """A model or provider cannot be resolved."""


class StorageError(HeadroomError):
    """A store (CCR originals, or `HeadroomClient` metrics) could not read or write."""


class RetrievalError(HeadroomError, KeyError):
    """No original is stored under that hash (unknown, expired, or another tenant's)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
