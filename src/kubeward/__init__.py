"""kubeward: what a Kubernetes network security configuration allows, and why.

The public API::

    from kubeward import analyse_paths, explain, connectivity_map, check

    analysis = analyse_paths(["examples/shop"])
    print(explain(analysis, "shop/web", "shop/api", 8080).verdict.verdict)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analyses.check import CheckReport, check
from .analyses.connectivity_map import Connection, ConnectivityMap, MapPeer, connectivity_map
from .analyses.explain import Explanation, explain
from .analyses.session import Analysis, analyse_objects, analyse_paths, analyse_text
from .diagnostics import Diagnostic, Diagnostics, Leans, Severity
from .engine.options import Options
from .errors import KubewardError, UsageError

__all__ = [
    "Analysis", "CheckReport", "Connection", "ConnectivityMap", "Diagnostic", "Diagnostics",
    "Explanation", "KubewardError", "Leans", "MapPeer", "Options", "Severity", "UsageError",
    "analyse_objects", "analyse_paths", "analyse_text", "check", "connectivity_map", "explain",
    "__version__",
]
