from __future__ import annotations

from pathlib import Path

import pytest
from tests.allocation.lakes import write_awkward_lake


@pytest.fixture
def awkward_lake(tmp_path: Path) -> Path:
    return write_awkward_lake(tmp_path)
