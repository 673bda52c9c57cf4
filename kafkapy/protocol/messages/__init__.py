"""Registry of API schemas: one module per API key, named after ``ApiKey`` (``list_offsets``).

Every module defines ``API = ApiSpec(...)``. ``get_api(key)`` returns it;
``request_codec``/``response_codec`` return the compiled, cached codec of one version.
"""
from __future__ import annotations

import importlib
import logging

from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.errors import UnknownApiKeyError
from kafkapy.protocol.schema import ApiSpec, Codec

logger = logging.getLogger(__name__)

# Every key 0..64 has its module; a missing one is an import error (set True only while
# bringing up new modules).
_TOLERATE_MISSING = False

APIS: dict[int, ApiSpec] = {}


def _load() -> None:
    for key in ApiKey:
        name = f"{__name__}.{key.module_name}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if _TOLERATE_MISSING and e.name == name:
                logger.debug("no schema module %s yet", name)
                continue
            raise
        spec = module.API
        if spec.key != key:
            raise RuntimeError(f"{name}.API has key {spec.key}, expected {int(key)}")
        APIS[int(key)] = spec


def get_api(api_key: int) -> ApiSpec:
    """The ApiSpec of ``api_key``; UnknownApiKeyError if there is none."""
    try:
        return APIS[api_key]
    except KeyError:
        raise UnknownApiKeyError(api_key) from None


def request_codec(api_key: int, version: int) -> Codec:
    """Compiled request codec; UnknownApiKeyError / UnsupportedVersionError otherwise."""
    return get_api(api_key).request_codec(version)


def response_codec(api_key: int, version: int) -> Codec:
    return get_api(api_key).response_codec(version)


_load()
