"""The wheel is the product: built from the sources, installed into a fresh virtual environment,
its `mockserver`, `conformance` and pytest plugin work from a directory outside the repository.

The fresh environment gets the project's dependencies from this test's own environment (a `.pth`
line after its own site-packages), so nothing is downloaded; the project's code comes from the
wheel alone, which the test checks.
"""

import os
import shutil
import signal
import site
import subprocess
import sys
import venv
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "specs", "kycspec", "mockserver", "conformance")
PACKAGES = ("kycspec", "mockserver", "conformance")
TIMEOUT_S = 300
PLUGIN_TEST = """
from conformance.pytest_plugin import Outcome


def test_the_plugin_checks_the_mock(conformance_run, tmp_path):
    outcome = conformance_run(
        api="finx", base_url=BASE_URL, token="test_wheel", token_b="test_wheel_b",
        profile="security", seed=1, budget=120, specs_dir=SPECS_DIR,
    )
    assert isinstance(outcome, Outcome)
    assert outcome.error is None, outcome.error
    assert outcome.results
"""


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the project's wheel installed; returns its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), "."],
        cwd=source,
    )
    (wheel,) = dist.glob("kyc_contracts-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], work)
    own = _run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], work)
    dependencies = "\n".join(site.getsitepackages())
    (Path(own.stdout.strip()) / "zz_dependencies.pth").write_text(dependencies + "\n")
    return env_dir / "bin"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory with no repository around it."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    return where


def test_the_code_comes_from_the_wheel(installed: Path, outside: Path) -> None:
    code = (
        "import "
        + ", ".join(PACKAGES)
        + "; print(*(m.__file__ for m in ("
        + ", ".join(PACKAGES)
        + ")))"
    )
    files = _run([str(installed / "python"), "-c", code], outside).stdout.split()
    assert len(files) == len(PACKAGES)
    assert all(Path(f).is_relative_to(installed.parent) for f in files), files


def test_specs_and_data_files_ship_inside_the_package(installed: Path, outside: Path) -> None:
    code = (
        "from importlib import resources; from kycspec.loader import SPECS_DIR; "
        "print(SPECS_DIR); print(resources.files('mockserver').joinpath('control_plane.yaml'))"
    )
    specs, control = _run([str(installed / "python"), "-c", code], outside).stdout.split()
    assert Path(specs).is_relative_to(installed.parent)
    assert sorted(p.name for p in Path(specs).glob("*.yaml")) == sorted(
        p.name for p in (ROOT / "specs").glob("*.yaml")
    )
    assert Path(control).is_file()


def test_both_clis_and_python_m_run_outside_the_repository(installed: Path, outside: Path) -> None:
    assert "version 0.1.0" in _run([str(installed / "mockserver"), "--version"], outside).stdout
    assert (
        "serve" in _run([str(installed / "python"), "-m", "mockserver", "--help"], outside).stdout
    )
    listed = _run([str(installed / "conformance"), "requirements", "--api", "finx"], outside)
    assert listed.stdout.startswith("FINX-")
    via_m = _run([str(installed / "python"), "-m", "conformance", "requirements"], outside)
    assert via_m.stdout.count("\n") > listed.stdout.count("\n")


def test_the_installed_mock_serves_and_the_plugin_checks_it(installed: Path, outside: Path) -> None:
    started = _run(
        [str(installed / "mockserver"), "serve", "--port", "0", "--detach", "--log-file", "log"],
        outside,
    )
    pid = int(started.stdout)
    try:
        log = (outside / "log").read_text()
        root = log[log.index("http://127.0.0.1:") :].split("/finhub")[0]
        assert httpx.get(f"{root}/__mock/health").json()["status"] == "ready"
        created = httpx.post(
            f"{root}/kontorion/v1/customer-verifications",
            headers={"Authorization": "Bearer test_wheel"},
            json={
                "customer_id": "3f1c2b8e-6a4d-4f5e-9b7a-2c8d1e0f4a6b",
                "verification_type": "kyc",
                "provider": "sandbox_pending",
                "check_type": "document",
            },
        )
        assert created.status_code == 201, created.text
        specs = outside / "my-specs"
        specs.mkdir()
        shutil.copy2(ROOT / "specs" / "finx.yaml", specs / "finx.yaml")
        test_file = outside / "test_plugin.py"
        settings = f"BASE_URL = {root + '/finx'!r}\nSPECS_DIR = {str(specs)!r}\n"
        test_file.write_text(settings + PLUGIN_TEST)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        ran = _run(
            [
                str(installed / "python"),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(test_file),
            ],
            outside,
            env,
        )
        assert "1 passed" in ran.stdout
    finally:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
