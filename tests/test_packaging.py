"""Social Rounds installs anywhere: the wheel carries everything the product reads at run time, and
nothing in the code or the tests reads outside the repository."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from bot.resources import shipped_dir

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".js", ".html", ".css", ".j2", ".csv"}
APP_ID = "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11"


def _text_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts)


def _outside_references(path: Path) -> list[str]:
    """Lines of ``path`` that reach above the repository: ``../`` paths, ``".."`` segments, more
    ``parents``/``.parent`` steps than the file is deep, or the old ``shared/reference`` folder."""
    depth = len(path.relative_to(ROOT).parts)
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        problems = []
        if re.search(r"(?<![/\w.])\.\.[/\\]", line) or re.search(r"""["']\.\.["']""", line):
            problems.append("a path above its folder")
        if re.search(r"shared/reference|ROUNDS_SHARED_DIR|\.\./shared", line):
            problems.append("the shared reference folder")
        for steps in re.findall(r"parents\[(\d+)\]", line):
            if int(steps) + 1 > depth:
                problems.append(f"parents[{steps}] climbs out of the repository")
        for chain in re.findall(r"__file__\)(?:\.resolve\(\))?((?:\.parent)+)", line):
            if chain.count(".parent") > depth:
                problems.append(f"{chain} climbs out of the repository")
        found += [f"{path.relative_to(ROOT)}:{number}: {p}" for p in problems]
    return found


def test_no_file_of_bot_or_tests_refers_outside_the_repository() -> None:
    files = [p for p in _text_files("bot", "tests") if p != Path(__file__).resolve()]  # this file names the patterns
    assert len(files) > 50
    problems = [problem for path in files for problem in _outside_references(path)]
    # ``/static/../webchat.py`` in test_webchat is a URL the server must refuse, not a path it reads
    assert problems == []


def test_the_outside_reference_check_catches_the_usual_ways(tmp_path: Path) -> None:
    sample = ROOT / "tests" / "_sample_outside.py"
    try:
        sample.write_text('SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "reference"\n'
                          'OTHER = Path(__file__).parent.parent.parent / "x"\n'
                          'AGAIN = open("../shared/x.json")\n', encoding="utf-8")
        problems = _outside_references(sample)
    finally:
        sample.unlink()
    assert len(problems) >= 4
    assert {p.split(":")[1] for p in problems} == {"1", "2", "3"}


@pytest.mark.parametrize("path, blob", [
    ("bot/channels/teams/schemas/teams-manifest-1.19.schema.json", "a53c0ff4cf4b"),
    ("tests/data/schemas/slack/manifest.schema.json", "cb02c99f1298"),
    ("tests/data/schemas/slack/manifest.schema.1.0.0.json", "9fd0fc4dc3ca"),
    ("tests/data/schemas/slack/manifest.schema.2.0.0.json", "2a69e1130dfe"),
    ("tests/data/schemas/adaptivecards/adaptive-card-1.5.schema.json", "8301d0efef25"),
])
def test_vendored_schemas_are_the_official_files_with_their_origin(path: str, blob: str) -> None:
    data = (ROOT / path).read_bytes()
    assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest().startswith(blob)
    origin = ((ROOT / path).parent.parent if "tests/" in path else (ROOT / path).parent) / "ORIGIN.md"
    text = origin.read_text(encoding="utf-8")
    assert blob in text and "MIT" in text


def test_every_folder_of_bot_is_a_listed_package() -> None:
    """Packages are listed in pyproject.toml (the data folders are mapped in): a new folder must be too."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {".".join(p.relative_to(ROOT).parts) for p in [ROOT / "bot", *(ROOT / "bot").rglob("*")]
               if p.is_dir() and p.name != "__pycache__" and any(p.iterdir())}
    assert folders <= set(config["packages"])
    assert config["package-dir"] == {"bot.prompts": "prompts", "bot.manifest": "manifest"}


def test_a_source_checkout_reads_prompts_and_manifests_in_place() -> None:
    assert shipped_dir("prompts") == ROOT / "prompts"
    assert shipped_dir("manifest") == ROOT / "manifest"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, cwd=out)
    [built] = out.glob("social_rounds-*.whl")
    return built


def test_the_wheel_carries_lessons_templates_manifests_icons_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("bot/prompts/meetings.yaml", "bot/prompts/templates/help.j2", "bot/prompts/preflight.yaml",
                     "bot/prompts/lessons/01-getting-started.yaml", "bot/manifest/slack/manifest.yaml",
                     "bot/manifest/teams/manifest.json", "bot/manifest/teams/color.png",
                     "bot/manifest/teams/outline.png", "bot/channels/teams/schemas/teams-manifest-1.19.schema.json",
                     "bot/channels/webchat_static/index.html", "bot/store/migrations/versions/0001_initial.py"):
        assert required in names
    lessons = {p.name for p in (ROOT / "prompts" / "lessons").glob("*.yaml")}
    assert lessons == {Path(n).name for n in names if n.startswith("bot/prompts/lessons/")}
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
    requires = {line.split(":", 1)[1].strip().split(";")[0].split(">")[0].split("<")[0].strip().lower()
                for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert "jsonschema" in requires


def test_the_unpacked_wheel_runs_its_commands_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """The installed code, not the checkout: content check and teams-package find their data in the package."""
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ROUNDS_CONFIG", "DATABASE_URL")}
    env.update(PYTHONPATH=str(site), MICROSOFT_APP_ID=APP_ID)

    def rounds(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120)

    where = subprocess.run([sys.executable, "-c", "import bot.resources as r; print(r.shipped_dir('prompts'))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(site / "bot" / "prompts")
    checked = rounds("content", "check")
    assert checked.returncode == 0, checked.stderr
    assert "content ok" in checked.stdout
    packaged = rounds("teams-package", "--out", "teams.zip")
    assert packaged.returncode == 0, packaged.stderr
    assert set(zipfile.ZipFile(work / "teams.zip").namelist()) == {"manifest.json", "color.png", "outline.png"}
    manifest = rounds("manifest", "slack", "--url", "https://example.org")
    assert manifest.returncode == 0, manifest.stderr
    assert "https://example.org/slack/events" in manifest.stdout
