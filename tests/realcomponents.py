"""Real components in tests (Redis, Chromium): found on the machine, or the test is skipped.

A test that needs a real server or browser calls `require_binary`, which returns the path of
the program or skips with a reason that names the Debian package to install. On a laptop
without apt that skip is the right outcome; in CI it is not, so when the environment sets
`KYC_REQUIRE_REAL_COMPONENTS=1` (`.ci/run` does, after installing the packages) every such
skip fails the test instead.
"""

import os
import shutil

import pytest

REQUIRE_ENV = "KYC_REQUIRE_REAL_COMPONENTS"
MISSING = "{program} is not installed (Debian package {package}: apt-get install {package})"
REQUIRED_BUT_MISSING = "{reason}; {env}=1 says this run must use the real component"


def require_binary(program: str, package: str) -> str:
    """The path of `program`; skips the test (fails it under `KYC_REQUIRE_REAL_COMPONENTS=1`)."""
    found = shutil.which(program)
    if found is not None:
        return found
    reason = MISSING.format(program=program, package=package)
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(REQUIRED_BUT_MISSING.format(reason=reason, env=REQUIRE_ENV), pytrace=False)
    pytest.skip(reason)
