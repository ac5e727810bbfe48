"""The Teams app manifest, its icons and `rounds teams-package`."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.teams.package import (
    DEFAULT_MANIFEST_DIR,
    SCHEMA_PATH,
    PackageError,
    PackageOptions,
    build_package,
    icon_errors,
    manifest_errors,
)
from bot.cli import main
from bot.core.commands import SPEC_BY_NAME
from teams_fixtures import ROOT, manifest_validator

APP_ID = "6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11"
MANIFEST_DIR = ROOT / "manifest" / "teams"


def _manifest() -> dict:
    return json.loads((MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_the_committed_manifest_validates_against_the_official_1_19_schema() -> None:
    manifest = _manifest()
    assert manifest["manifestVersion"] == "1.19"
    assert [e.message for e in manifest_validator().iter_errors(manifest)] == []


def test_the_vendored_schema_is_the_official_file() -> None:
    vendored = SCHEMA_PATH.read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(vendored) + vendored).hexdigest()
    assert blob.startswith("a53c0ff4cf4b")
    origin = (SCHEMA_PATH.parent / "ORIGIN.md").read_text(encoding="utf-8")
    assert "OfficeDev/microsoft-teams-app-schema" in origin and "MIT" in origin


def test_the_schema_ships_with_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    assert "channels/teams/schemas/*" in patterns
    assert DEFAULT_MANIFEST_DIR == MANIFEST_DIR


def test_the_bot_serves_personal_chat_and_teams_with_real_commands() -> None:
    [bot] = _manifest()["bots"]
    assert set(bot["scopes"]) == {"personal", "team"}
    lists = {tuple(entry["scopes"]): entry["commands"] for entry in bot["commandLists"]}
    assert set(lists) == {("personal",), ("team",)}
    for commands in lists.values():
        assert len(commands) <= 10
        for command in commands:
            assert command["title"] in SPEC_BY_NAME, command["title"]
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    assert {"help", "lesson", "status", "profile", "camp"} <= {c["title"] for c in lists[("personal",)]}
    assert {"help", "report", "digest"} <= {c["title"] for c in lists[("team",)]}


def test_icons_follow_the_teams_rules() -> None:
    color = Image.open(MANIFEST_DIR / "color.png")
    outline = Image.open(MANIFEST_DIR / "outline.png")
    assert (color.format, color.size) == ("PNG", (192, 192))
    assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")
    pixels = outline.convert("RGBA").load()
    visible = {pixels[x, y][:3] for x in range(32) for y in range(32) if pixels[x, y][3]}
    assert visible == {(255, 255, 255)}, "outline: white only"
    assert pixels[0, 0][3] == 0, "outline: transparent background"
    assert icon_errors("color", (MANIFEST_DIR / "color.png").read_bytes()) == []
    assert icon_errors("outline", (MANIFEST_DIR / "outline.png").read_bytes()) == []


def test_icon_checks_catch_wrong_icons() -> None:
    def png(size: tuple[int, int], colour: tuple[int, int, int, int]) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGBA", size, colour).save(buffer, format="PNG")
        return buffer.getvalue()

    assert "must be 192×192" in icon_errors("color", png((96, 96), (0, 0, 0, 255)))[0]
    assert any("transparent" in e for e in icon_errors("outline", png((32, 32), (255, 255, 255, 255))))
    assert any("white" in e for e in icon_errors("outline", png((32, 32), (200, 0, 0, 128))))
    assert "not a readable PNG" in icon_errors("color", b"GIF89a")[0]


def test_teams_package_builds_a_valid_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.delenv("ROUNDS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rounds.yaml").write_text("hospital:\n  name: Lakeside Children's Hospital and Research Center\n",
                                          encoding="utf-8")
    out = tmp_path / "dist" / "teams.zip"
    assert main(["teams-package", "--out", str(out), "--privacy-url", "https://lakeside.example/privacy"]) == 0
    assert "wrote" in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == (MANIFEST_DIR / "color.png").read_bytes()
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"]["name"] == "Lakeside Children's Hospital and Research Center"[:32]
    assert len(manifest["developer"]["name"]) <= 32
    assert manifest["developer"]["privacyUrl"] == "https://lakeside.example/privacy"
    assert [e.message for e in manifest_validator().iter_errors(manifest)] == []


def test_teams_package_without_an_app_id_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROSOFT_APP_")}
    process = subprocess.run([sys.executable, "-m", "bot", "teams-package", "--out", str(tmp_path / "x.zip")],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2
    assert "MICROSOFT_APP_ID is not set" in process.stderr
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.parametrize(("app_id", "message"), [("not-a-guid", "is not a GUID"), ("", "is not set")])
def test_teams_package_rejects_bad_app_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], app_id: str, message: str) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", app_id)
    monkeypatch.chdir(tmp_path)
    assert main(["teams-package", "--out", str(tmp_path / "x.zip")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_teams_package_refuses_an_invalid_manifest(tmp_path: Path) -> None:
    broken = _manifest()
    broken["name"]["short"] = "A name that is far too long for the Teams app store"
    broken["accentColor"] = "teal"
    broken["bots"][0]["commandLists"][0]["commands"] *= 2
    (tmp_path / "manifest.json").write_text(json.dumps(broken), encoding="utf-8")
    for icon in ("color.png", "outline.png"):
        (tmp_path / icon).write_bytes((MANIFEST_DIR / icon).read_bytes())
    out = tmp_path / "out.zip"
    with pytest.raises(PackageError) as failure:
        build_package(tmp_path, out, PackageOptions(APP_ID, "Riverside", "1.2.3", website_url="http://plain.example"))
    message = str(failure.value)
    assert "name/short" in message and "accentColor" in message and "commands" in message
    assert "https://" in message
    assert not out.exists()


def test_manifest_errors_uses_draft_7_so_const_is_checked() -> None:
    manifest = _manifest()
    manifest["manifestVersion"] = "1.99"
    assert any("1.19" in e for e in manifest_errors(manifest))
