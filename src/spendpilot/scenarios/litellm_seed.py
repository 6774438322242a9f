"""A scenario's LiteLLM proxy config: ``litellm_config.yaml`` in its folder, swept as a source.

The file is copied into the run's temporary home (proposals may change it; the scenario folder
stays as shipped) and configured as ``[[sources]] kind = "litellm_config"``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FILE = "litellm_config.yaml"


def scenario_litellm(folder: Path, home: Path) -> list[dict[str, Any]]:
    """The source entry for the scenario's LiteLLM config, or none when it has no such file."""
    shipped = Path(folder) / FILE
    if not shipped.is_file():
        return []
    copy = Path(home) / "litellm" / "config.yaml"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shipped, copy)
    return [{"kind": "litellm_config", "name": "scenario litellm", "path": str(copy)}]
