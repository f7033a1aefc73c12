"""Load manifests from files, folders and stdin into located raw objects.

Every mapping and list keeps the line it starts on and the line of each key or item, so that
any field can be reported as ``file:line``. YAML is read from PyYAML's C parser's events when
libyaml is available; JSON is read as YAML (a JSON document is valid YAML), falling back to
:mod:`json` for the rare JSON that PyYAML's YAML 1.1 reader refuses.

``values``: located values and scalars typed as kubectl types them (NP-26); ``documents``: text →
documents → objects, with the limits of a document; ``files``: paths → text, with the limits of
files (docs/cli.md, "Limits").
"""

from .documents import (
    MAX_DEPTH,
    MAX_NAME_LENGTH,
    MAX_NAMESPACE_LENGTH,
    MAX_OBJECT_BYTES,
    allowed_alias_share,
    load_text,
    parse_documents,
)
from .files import (
    MANIFEST_SUFFIXES,
    MAX_FILE_BYTES,
    MAX_TOTAL_BYTES,
    STDIN,
    load_paths,
    manifest_file,
    read_regular_file,
)
from .values import LList, LMap, RawObject, go_key, go_scalar, json_number, line_of

__all__ = [
    "LList", "LMap", "MANIFEST_SUFFIXES", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NAME_LENGTH", "MAX_NAMESPACE_LENGTH",
    "MAX_OBJECT_BYTES", "MAX_TOTAL_BYTES", "RawObject", "STDIN", "allowed_alias_share", "go_key", "go_scalar",
    "json_number", "line_of", "load_paths", "load_text", "manifest_file", "parse_documents", "read_regular_file",
]
