"""Lint and types as tests, so the README's test command fails on a finding as CI does (.ci/run).

The rules and their reasons are in pyproject.toml ([tool.ruff], [tool.mypy]); both tools come with
the ``test`` extra.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    """The tool installed beside this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    result = run(tool("ruff"), "check", "--no-cache", "bot", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run(tool("mypy"), "--no-incremental", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_fails_on_a_planted_finding(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("import os\nimport time\n\n\nasync def wait() -> None:\n    time.sleep(1)\n",
                       encoding="utf-8")
    result = run(tool("ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(planted))
    assert result.returncode == 1
    assert "F401" in result.stdout and "ASYNC251" in result.stdout, result.stdout


def test_mypy_fails_on_a_planted_error_and_an_untyped_core_function(tmp_path: Path) -> None:
    core = tmp_path / "bot" / "core"
    core.mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("", encoding="utf-8")
    (core / "__init__.py").write_text("", encoding="utf-8")
    (core / "planted.py").write_text('COUNT: int = "three"\n\n\ndef double(x):\n    return 2 * x\n', encoding="utf-8")
    result = subprocess.run([tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental",
                             "--cache-dir", "/dev/null", "bot/core/planted.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "planted.py:1: error" in result.stdout and "[assignment]" in result.stdout, result.stdout
    assert "planted.py:4: error" in result.stdout and "[no-untyped-def]" in result.stdout, result.stdout
