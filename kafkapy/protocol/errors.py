"""Typed errors of the sans-I/O protocol layer.

`ProtocolDecodeError` means the bytes on the wire are malformed (truncated, absurd
lengths, bad UTF-8, bad varints, misordered tags): the network layer closes the
connection. `UnsupportedVersionError` and `UnknownApiKeyError` are raised while parsing
a request header for an API key or version we do not know.
"""
from __future__ import annotations


class ProtocolDecodeError(ValueError):
    """Malformed bytes: truncated buffer, negative or absurd length, invalid UTF-8..."""


class ProtocolEncodeError(ValueError):
    """An object cannot be encoded at the requested version (wrong type, None where not nullable)."""


class UnknownApiKeyError(ProtocolDecodeError):
    def __init__(self, api_key: int) -> None:
        super().__init__(f"unknown api key {api_key}")
        self.api_key = api_key


class UnsupportedVersionError(ProtocolDecodeError):
    def __init__(self, api_key: int, api_version: int, min_version: int, max_version: int) -> None:
        super().__init__(
            f"unsupported version {api_version} of api key {api_key} "
            f"(supported {min_version}..{max_version})"
        )
        self.api_key = api_key
        self.api_version = api_version
        self.min_version = min_version
        self.max_version = max_version
