"""Where the data that ships with Social Rounds lives: ``prompts/`` and ``manifest/``.

Both folders sit at the repository root (marketing edits ``prompts/``, IT reads ``manifest/``). A
built wheel carries them inside the package as ``bot/prompts`` and ``bot/manifest`` (see the
package-dir mapping in pyproject.toml), so an installed copy finds them with importlib.resources
wherever it is installed; a source checkout (and an editable install of it) reads them in place.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def shipped_dir(name: str) -> Path:
    """The folder ``name`` (``"prompts"`` or ``"manifest"``) of this installation."""
    packaged = resources.files("bot").joinpath(name)
    if packaged.is_dir():
        return Path(str(packaged))
    return CHECKOUT_ROOT / name
