from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# kubeward keeps compiled validators between runs (KUBEWARD_CACHE_DIR, docs/cli.md): the tests use
# a folder of their own (one per test process), never the user's cache.
if "KUBEWARD_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="kubeward-test-cache-")
    os.environ["KUBEWARD_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)


@pytest.fixture
def repo_root() -> Path:
    return ROOT
