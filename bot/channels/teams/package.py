"""``rounds teams-package``: the Teams app zip (manifest.json, color.png, outline.png), checked first.

The manifest in ``manifest/teams/`` is the template; packaging fills in the bot's Microsoft app id
(``id`` and ``bots[0].botId``), the developer name (the hospital) and the version, then refuses to
write a package whose manifest fails the vendored Teams 1.19 schema or whose icons are wrong.
"""
from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from PIL import Image

from bot.resources import shipped_dir

SCHEMA_PATH = Path(__file__).with_name("schemas") / "teams-manifest-1.19.schema.json"
DEFAULT_MANIFEST_DIR = shipped_dir("manifest") / "teams"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ICONS = {"color": (192, 192), "outline": (32, 32)}
DEVELOPER_NAME_MAX = 32


class PackageError(Exception):
    """The package cannot be built; the message says why and what to do."""


@dataclass(frozen=True)
class PackageOptions:
    app_id: str
    developer_name: str
    version: str | None = None
    """None keeps the template's version."""
    website_url: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None


def checked_app_id(app_id: str) -> str:
    """``MICROSOFT_APP_ID``, which the package names: set, and a GUID."""
    app_id = app_id.strip()
    if not app_id:
        raise PackageError("MICROSOFT_APP_ID is not set: register the bot in Azure first (docs/teams.md) and "
                           "export its Microsoft App ID, then run `rounds teams-package` again")
    if not GUID.match(app_id):
        raise PackageError(f"MICROSOFT_APP_ID={app_id!r} is not a GUID like 6f1c2f0e-4a57-4a8e-9a43-0d1f3c2b7e11")
    return app_id


def project_version() -> str | None:
    """The installed Social Rounds version, which the Teams app version follows."""
    try:
        return metadata.version("social-rounds")
    except metadata.PackageNotFoundError:
        return None


def fill_manifest(template: dict[str, Any], options: PackageOptions) -> dict[str, Any]:
    """The template with this installation's ids, developer and version."""
    manifest = copy.deepcopy(template)
    manifest["id"] = options.app_id
    if options.version:
        manifest["version"] = options.version
    for bot in manifest.get("bots") or []:
        bot["botId"] = options.app_id
    developer = manifest.setdefault("developer", {})
    developer["name"] = options.developer_name[:DEVELOPER_NAME_MAX].strip()
    for key, value in (("websiteUrl", options.website_url), ("privacyUrl", options.privacy_url),
                       ("termsOfUseUrl", options.terms_url)):
        if value:
            developer[key] = value
    return manifest


def manifest_errors(manifest: dict[str, Any]) -> list[str]:
    """Schema errors, as ``path: message`` (Draft 7: the schema's declared draft 4 ignores ``const``)."""
    validator = Draft7Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(manifest)'}: {e.message}"
                  for e in validator.iter_errors(manifest))


def icon_errors(name: str, data: bytes) -> list[str]:
    """Teams' icon rules: color 192×192; outline 32×32, white on a transparent background."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # any decoding failure means "not a PNG Teams can use"
        return [f"{name}.png: not a readable PNG ({type(exc).__name__})"]
    errors = []
    if image.format != "PNG":
        errors.append(f"{name}.png: is {image.format}, not PNG")
    if image.size != ICONS[name]:
        errors.append(f"{name}.png: is {image.size[0]}×{image.size[1]}, must be {ICONS[name][0]}×{ICONS[name][1]}")
    if name == "outline":
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] != 0:
            errors.append("outline.png: needs a transparent background")
        for channel in "RGB":
            low = Image.composite(rgba.getchannel(channel), Image.new("L", rgba.size, 255), alpha).getextrema()[0]
            if low != 255:
                errors.append("outline.png: every visible pixel must be white")
                break
    return errors


def build_package(manifest_dir: Path, out: Path, options: PackageOptions) -> dict[str, Any]:
    """Check everything, then write the zip; returns the manifest that went into it."""
    template_path = manifest_dir / "manifest.json"
    try:
        template = json.loads(template_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{template_path} not found (use --manifest-dir to point at manifest/teams)") from None
    except ValueError as exc:
        raise PackageError(f"{template_path}: not valid JSON ({exc})") from None
    manifest = fill_manifest(template, options)
    problems = manifest_errors(manifest)
    problems += [f"developer/{key}: Teams needs an https:// address, not {value!r}"
                 for key, value in (manifest.get("developer") or {}).items()
                 if key.endswith("Url") and isinstance(value, str) and not value.lower().startswith("https://")]
    icons: dict[str, bytes] = {}
    for name in ICONS:
        file_name = (manifest.get("icons") or {}).get(name, f"{name}.png")
        path = manifest_dir / file_name
        if not path.is_file():
            problems.append(f"{file_name}: not found in {manifest_dir}")
            continue
        icons[file_name] = path.read_bytes()
        problems.extend(icon_errors(name, icons[file_name]))
    if problems:
        raise PackageError("refusing to build an invalid Teams package:\n  " + "\n  ".join(problems))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for file_name, data in icons.items():
            archive.writestr(file_name, data)
    return manifest


def cli_package(out: Path, manifest_dir: Path | None, developer_name: str, app_id: str, *,
                website_url: str | None = None, privacy_url: str | None = None, terms_url: str | None = None) -> int:
    """What ``rounds teams-package`` does; raises PackageError (exit code 2) with one clear message."""
    directory = manifest_dir or DEFAULT_MANIFEST_DIR
    options = PackageOptions(app_id=checked_app_id(app_id), developer_name=developer_name,
                             version=project_version(), website_url=website_url,
                             privacy_url=privacy_url, terms_url=terms_url)
    manifest = build_package(directory, out, options)
    print(f"wrote {out}: Teams app {manifest['name']['short']} {manifest['version']} for bot {options.app_id}; "
          "upload it in Teams (Apps → Manage your apps → Upload an app) or the Teams admin center")
    return 0
