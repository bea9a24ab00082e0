import pytest

from tests.realcomponents import MISSING, REQUIRE_ENV, require_binary

ABSENT = "kyc-contracts-no-such-program"


def test_require_binary_finds_a_program_on_path() -> None:
    assert require_binary("sh", "dash").endswith("/sh")


def test_require_binary_skips_with_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_binary(ABSENT, "some-package")
    assert str(skipped.value) == MISSING.format(program=ABSENT, package="some-package")


def test_require_binary_fails_when_the_run_requires_real_components(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_binary(ABSENT, "some-package")
    assert REQUIRE_ENV in str(failed.value)
