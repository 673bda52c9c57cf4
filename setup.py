"""Build of kafkapy's two optional C helpers (metadata lives in setup.cfg).

- kafkapy.protocol.records._crc32c: CRC-32C with AVX-512 carry-less multiplication where the CPU
  has it (the crc32c package stops at SSE4.2).
- kafkapy.log._append: the leader's append of one ordinary v2 batch (checks, CRC-32C, offset
  patch, write, index entries) in one call.

Both are optional: without a C compiler and Python's headers the build says so and kafkapy runs
its pure-Python equivalents (the same results, slower on the produce path).
"""
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CFLAGS = ["-O2", "-std=c11", "-fvisibility=hidden"]


class OptionalBuildExt(build_ext):
    """A failed compile is a warning, not a failed install."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler or header failure
            self._warn(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc, ext.name)

    @staticmethod
    def _warn(exc, name="the C helpers"):
        print(f"WARNING: could not build {name} ({exc}); kafkapy uses its pure-Python code instead "
              "(install gcc and the Python headers, e.g. apt-get install gcc python3-dev)", file=sys.stderr)


setup(
    ext_modules=[
        Extension("kafkapy.protocol.records._crc32c", ["csrc/crc32c_module.c", "csrc/crc32c.c"],
                  include_dirs=["csrc"], extra_compile_args=CFLAGS),
        Extension("kafkapy.log._append", ["csrc/append_module.c", "csrc/crc32c.c"],
                  include_dirs=["csrc"], extra_compile_args=CFLAGS),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
