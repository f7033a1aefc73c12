"""The HTML report (issue 17): one self-contained page.

Everything is inlined: the vendored Cytoscape.js (``report_assets/cytoscape.min.js``, MIT, see
``report_assets/README.md``), our page script and style (``report.js``, ``report.css``) and the
report's data as one JSON document in ``<script type="application/json" id="kubeward-data">``.
The page makes no request: no CDN, no web font, no image from anywhere.

The JSON is escaped for a script element: every ``<`` becomes ``\\u003c`` (a JSON string escape,
so ``</script>`` or ``<!--`` in a name cannot end the element), and ``&``/``>`` likewise.
"""

from __future__ import annotations

import html
from importlib.resources import files

import msgspec

from ..analyses.report import Report

ASSETS = files(__package__) / "report_assets"
# The vendored libraries, in load order (each UMD bundle sets a global the next one reads):
# Cytoscape.js, then the fcose layout (force-directed, for compound nodes) and its two bases.
LIBRARIES = ("cytoscape.min.js", "layout-base.js", "cose-base.js", "cytoscape-fcose.js")


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def script_json(doc: object) -> bytes:
    """``doc`` as JSON safe inside a ``<script>`` element (``<``, ``>``, ``&`` as \\u escapes)."""
    raw = msgspec.json.encode(doc)
    return raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def _inline_script(source: str) -> str:
    """Library source inside ``<script>``: refuses what would end the element early."""
    if "</script" in source.lower() or "<!--" in source:
        raise ValueError("a script asset contains '</script' or '<!--': it cannot be inlined as is")
    return source


def report_html(report: Report) -> bytes:
    """The page, as bytes (UTF-8)."""
    focus = report.graph.get("focus")
    title = "kubeward report: " + ", ".join(report.inputs) + (
        f" (namespaces {', '.join(map(str, focus))})" if isinstance(focus, list) else "")
    head = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        # no request leaves the page: the policy forbids every fetch, font and image from elsewhere
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{_asset('report.css')}\n</style>\n</head>\n<body>\n"
        f"{_asset('report.body.html')}\n"
        "<script type=\"application/json\" id=\"kubeward-data\">"
    )
    tail = (
        "</script>\n"
        + "".join(f"<script>\n{_inline_script(_asset(name))}\n</script>\n" for name in LIBRARIES) +
        f"<script>\n{_inline_script(_asset('report.js'))}\n</script>\n"
        "</body>\n</html>\n"
    )
    return head.encode() + script_json(report.to_json()) + tail.encode()
