"""Locate bundled resources (sample sandbox stores, icons, styles).

Resources live in the top-level ``resources/`` folder of the source tree. In a PyInstaller
build they are copied to ``<bundle>/resources``; ``sys._MEIPASS`` points at the bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the folder that holds the bundled resources."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Return the path of one bundled resource, e.g. ``resource_path("icons", "app.png")``."""
    return resources_dir().joinpath(*parts)
