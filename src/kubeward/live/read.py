"""Reading a live cluster: discovery, then one paginated list per kind, cluster-wide.

Discovery asks the API server which groups and versions it serves (``/api``, ``/apis``) and which
kinds each serves (``/api/v1``, ``/apis/GROUP/VERSION``). Each kind kubeward reads
(:func:`.kinds.wanted_kinds`) is listed once, in the server's preferred version of its group when
that version has it, else in the newest version kubeward knows, with ``limit``/``continue``
pagination. Secrets are asked for as metadata only (``PartialObjectMetadataList``). Each item
becomes the same :class:`~kubeward.loader.RawObject` the file loader produces, so every later
stage reads it unchanged; it is named ``cluster:CONTEXT/KIND/NAMESPACE/NAME`` in every file:line.

One object is read by name rather than listed (IST-30): when the networking.istio.io API is served,
the ``istio`` ConfigMap of the Istio root namespace — one GET, never a list of ConfigMaps, which
are many and can be large — whose ``data.mesh`` holds the mesh-wide outboundTrafficPolicy.

A group that is not served is a note; a kind the server refuses to list (403) or fails to list is
a warning naming the kind and what its absence means for the answer (``leans``), and so is the
istio ConfigMap refused. Failing to reach the server or being refused as a user (401) is a ClusterError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..diagnostics import Diagnostic, Diagnostics, Leans
from ..errors import ClusterError
from ..loader import MAX_DEPTH, LMap, RawObject
from .api import JSON, METADATA_ONLY, Answer, Connection
from .convert import TooDeep, live_object
from .kinds import CALICO_API, CALICO_STORAGE, GROUP_HOLDS, Wanted, namespaced_kind, wanted_kinds

PAGE_SIZE = 500
Progress = Callable[[str], None]
ISTIO_ROOT = "istio-system"  # Istio's default root namespace (IST-4), --root-namespace
ISTIO_NETWORKING = "networking.istio.io"
MESH_CONFIGMAP = "istio"  # IST-30: the ConfigMap istiod reads meshConfig from, in the root namespace
_CONFIGMAP = Wanted("", "ConfigMap", ("v1",), False, "", None, "ConfigMap")


@dataclass(frozen=True, slots=True)
class Resource:
    """A kind as the server serves it: the version read, its plural name, and whether it is namespaced."""

    wanted: Wanted
    group_version: str   # "v1", "apps/v1", "cilium.io/v2"
    plural: str
    namespaced: bool

    @property
    def path(self) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        return f"{base}/{self.plural}"


@dataclass(frozen=True, slots=True, eq=False)
class LiveSnapshot:
    """What one read of a live cluster found: its objects (as the file loader produces them) and
    what the read has to say (notes on groups not served, warnings on kinds it could not list).
    ``namespace``: the context's namespace, where ``kubectl apply`` puts a file's object that names
    none (an overlay, :func:`overlay`)."""

    context: str
    server: str
    namespace: str
    objects: tuple[RawObject, ...]
    diagnostics: tuple[Diagnostic, ...]
    namespaced: Mapping[tuple[str, str], bool] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How reports name the cluster: ``cluster:CONTEXT``."""
        return f"cluster:{self.context}"

    def report(self, diags: Diagnostics) -> None:
        """Add what the read has to say to ``diags``."""
        for d in self.diagnostics:
            diags.add(d.code, d.severity, d.message, d.file, d.line, d.ref, d.leans, d.related)


def read_cluster(*, kubeconfig: str | None = None, context: str | None = None, page_size: int = PAGE_SIZE,
                 progress: Progress | None = None, root_namespace: str = ISTIO_ROOT) -> LiveSnapshot:
    """Read every kind kubeward reads from the cluster of a kubeconfig context (``context`` None:
    the current one), and the ``istio`` ConfigMap of Istio's ``root_namespace`` when Istio is
    served (IST-30). Raises ClusterError when the cluster cannot be read at all."""
    say = progress or (lambda _text: None)
    conn = Connection(kubeconfig, context)
    try:
        say(f"discovering the API of {conn.context}")
        return _Reader(conn, page_size, say, root_namespace or ISTIO_ROOT).read()
    finally:
        conn.close()


class _Reader:
    def __init__(self, conn: Connection, page_size: int, say: Progress, root_namespace: str = ISTIO_ROOT) -> None:
        self.conn, self.page_size, self.say = conn, max(1, page_size), say
        self.root_namespace = root_namespace
        self.diags = Diagnostics()
        self.file = f"cluster:{conn.context}"
        self.served: frozenset[str] = frozenset()  # the API groups the server serves ("": core v1)

    def read(self) -> LiveSnapshot:
        resources = self.discover()
        objects: list[RawObject] = []
        for resource in resources:
            objects.extend(self.list_kind(resource))
        if ISTIO_NETWORKING in self.served and "" in self.served:  # no Istio: no request
            for name in [MESH_CONFIGMAP] + [f"{MESH_CONFIGMAP}-{rev}" for rev in revisions(objects)]:
                mesh = self.mesh_config(name)
                if mesh is not None:
                    objects.append(mesh)
        kinds = len({(o.group, o.kind) for o in objects})
        self.diags.info("cluster-read", f"read {len(objects):,} object{'s' if len(objects) != 1 else ''} of {kinds} "
                        f"kind{'s' if kinds != 1 else ''} from {self.conn.where}", self.file)
        namespaced = {(r.wanted.group, r.wanted.kind): r.namespaced for r in resources}
        namespaced.setdefault(("", "ConfigMap"), True)
        return LiveSnapshot(self.conn.context, self.conn.server, self.conn.namespace, tuple(objects),
                            tuple(self.diags.items), namespaced)

    # ---- discovery ---------------------------------------------------------------------------

    def _discovery(self, path: str) -> dict[str, Any] | None:
        answer = self.conn.get(path)
        if answer.status == 200 and isinstance(answer.body, dict):
            return answer.body
        if answer.status == 404:
            return None
        raise ClusterError(self.conn.scrub(f"{self.conn.where} refused discovery ({path}: {answer.status} "
                                           f"{answer.reason}: {answer.message})"))

    def discover(self) -> list[Resource]:
        """The resources to list, in the order of :func:`wanted_kinds`."""
        wanted = wanted_kinds()
        served: dict[str, tuple[list[str], str]] = {}  # group → (versions in the server's order, preferred)
        core = self._discovery("/api")
        if core is not None and "v1" in (core.get("versions") or []):
            served[""] = (["v1"], "v1")
        groups = self._discovery("/apis") or {}
        for entry in groups.get("groups") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            listed = [v.get("version") for v in entry.get("versions") or [] if isinstance(v, dict)]
            preferred = (entry.get("preferredVersion") or {}).get("version")
            served[entry["name"]] = ([v for v in listed if isinstance(v, str)],
                                     preferred if isinstance(preferred, str) else "")
        if CALICO_API in served and CALICO_STORAGE in served:
            self.diags.info("cluster-calico-storage", f"Calico resources are read from {CALICO_API} (the Calico API "
                            f"server); {CALICO_STORAGE}, where it stores them, is not read", self.file)
            del served[CALICO_STORAGE]
        self._not_served(wanted, served)
        self.served = frozenset(served)
        lists: dict[str, dict[str, dict[str, Any]]] = {}  # group version → kind → resource entry
        resources: list[Resource] = []
        for want in wanted:
            if want.group not in served:
                continue
            versions, preferred = served[want.group]
            order: list[str] = [preferred] if preferred in versions else []
            order += [v for v in reversed(want.versions) if v in versions and v not in order]
            order += [v for v in versions if v not in order]
            for version in order:
                group_version = f"{want.group}/{version}" if want.group else version
                if group_version not in lists:
                    self.say(f"discovering {group_version}")
                    lists[group_version] = self._kinds_of(group_version)
                entry = lists[group_version].get(want.kind)
                if entry is not None:
                    resources.append(Resource(want, group_version, entry["name"], bool(entry.get("namespaced"))))
                    break
        return resources

    def _kinds_of(self, group_version: str) -> dict[str, dict[str, Any]]:
        """kind → its resource entry, of the kinds this group version lets a client list."""
        body = self._discovery("/api/v1" if group_version == "v1" else f"/apis/{group_version}") or {}
        out: dict[str, dict[str, Any]] = {}
        for entry in body.get("resources") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "/" in entry["name"]:
                continue  # a subresource (pods/status)
            verbs = entry.get("verbs")
            if isinstance(verbs, list) and "list" not in verbs:
                continue
            if isinstance(entry.get("kind"), str):
                out.setdefault(entry["kind"], entry)
        return out

    def _not_served(self, wanted: Iterable[Wanted], served: Mapping[str, object]) -> None:
        """One note per modelled group the server does not serve."""
        missing = {w.group for w in wanted if w.modelled and w.group not in served}
        calico = {CALICO_API, CALICO_STORAGE}
        if calico <= missing:
            self.diags.info("cluster-api-not-served", f"no Calico resources: neither the {CALICO_API} nor the "
                            f"{CALICO_STORAGE} API is served", self.file)
        for group in sorted(missing - calico):
            holds = GROUP_HOLDS.get(group, "objects of this group")
            name = group or "core (v1)"
            self.diags.info("cluster-api-not-served", f"no {holds}: the {name} API is not served", self.file)

    # ---- lists -------------------------------------------------------------------------------

    def list_kind(self, resource: Resource) -> list[RawObject]:
        """Every object of one kind, cluster-wide, page by page. A refused or failed list is a
        warning (and no object); an expired ``continue`` token (410) restarts the list once."""
        want = resource.wanted
        secret = want.group == "" and want.kind == "Secret"
        accept = METADATA_ONLY if secret else JSON
        objects: list[RawObject] = []
        token = ""
        restarted = False
        while True:
            self.say(f"reading {resource.plural} ({len(objects):,})")
            query = [("limit", str(self.page_size))] + ([("continue", token)] if token else [])
            answer = self.conn.get(resource.path, query, accept)
            if answer.status == 410 and token and not restarted:
                objects, token, restarted = [], "", True
                continue
            if answer.status != 200 or not isinstance(answer.body, dict):
                self._refused(resource, answer)
                return []
            for item in answer.body.get("items") or []:
                if isinstance(item, dict):
                    obj = self._object(resource, item)
                    if obj is not None:
                        objects.append(obj)
            metadata = answer.body.get("metadata")
            token = metadata.get("continue", "") if isinstance(metadata, dict) else ""
            if not token or not isinstance(token, str):
                return objects

    def mesh_config(self, name: str = MESH_CONFIGMAP) -> RawObject | None:
        """IST-30, IST-50: the ``istio`` (or ``istio-<revision>``) ConfigMap of the root namespace,
        by name (one GET; ConfigMaps are never listed). Absent: Istio's default policy, a note;
        refused: a warning, ``leans``."""
        where = f"{self.root_namespace}/{name}"
        path = f"/api/v1/namespaces/{quote(self.root_namespace, safe='')}/configmaps/{quote(name, safe='')}"
        self.say(f"reading configmap {where}")
        answer = self.conn.get(path)
        if answer.status == 200 and isinstance(answer.body, dict):
            return self._object(Resource(_CONFIGMAP, "v1", "configmaps", True), answer.body)
        if answer.status == 404:
            self.diags.info("cluster-mesh-config", f"no ConfigMap {where}: the mesh-wide outboundTrafficPolicy is "
                            "Istio's default, ALLOW_ANY (IST-30)", self.file)
            return None
        unknown = ("the mesh-wide outboundTrafficPolicy is unknown: it is taken as ALLOW_ANY (IST-30), which may "
                   "allow more than shown; --mesh-outbound sets it")
        if answer.status == 403:
            why = f"the API server refused to get it (403 Forbidden: {answer.message}); grant get on configmaps " \
                  f"named {name} in {self.root_namespace} (docs/cli.md)"
            code = "cluster-forbidden"
        else:
            why = f"the API server failed to get it ({answer.status} {answer.reason}: {answer.message})" \
                if answer.status != 200 else "the API server's answer is not an object"
            code = "cluster-list-failed"
        self.diags.warning(code, self.conn.scrub(f"ConfigMap {where} not read: {why}; {unknown}"), self.file,
                           leans=Leans.MAY_ALLOW_MORE)
        return None

    def _object(self, resource: Resource, item: dict[str, Any]) -> RawObject | None:
        want = resource.wanted
        meta = item.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        name, namespace = str(meta.get("name", "")), str(meta.get("namespace", "") or "")
        file = f"{self.file}/{want.shown}/{namespace + '/' if namespace else ''}{name}"
        try:
            return live_object(item, resource.group_version, want.kind, file)
        except (TooDeep, RecursionError):
            self.diags.error("too-deep", f"the object nests deeper than {MAX_DEPTH} levels; it is not read", file)
            return None

    def _refused(self, resource: Resource, answer: Answer) -> None:
        want = resource.wanted
        what = f"{want.kind} ({resource.group_version}, {resource.plural})"
        if answer.status == 403:
            why = f"the API server refused to list them (403 Forbidden: {answer.message}); grant list on " \
                  f"{resource.plural}" + (f".{want.group}" if want.group else "") + " (docs/cli.md)"
            code = "cluster-forbidden"
        elif answer.status == 406 and want.kind == "Secret":
            why = "the API server cannot send their metadata alone (406), and kubeward never reads secret data"
            code = "cluster-list-failed"
        elif answer.status == 200:
            why = "the API server's answer is not a list"
            code = "cluster-list-failed"
        else:
            why = f"the API server failed to list them ({answer.status} {answer.reason}: {answer.message})"
            code = "cluster-list-failed"
        self.diags.warning(code, self.conn.scrub(f"{what} not read: {why}; {want.missing}"), self.file,
                           leans=want.leans)


def overlay(snapshot: LiveSnapshot, files: Iterable[RawObject], diags: Diagnostics) -> list[RawObject]:
    """The live objects with the files' objects applied over them, as ``kubectl apply -f`` would:
    a file's object replaces the live object of the same group, kind, namespace and name (any
    version); a namespaced object that names no namespace goes into the context's namespace."""
    added: list[RawObject] = []
    for obj in files:
        namespaced = snapshot.namespaced.get((obj.group, obj.kind), namespaced_kind(obj.group, obj.kind))
        metadata = obj.data.get("metadata")
        if namespaced and not obj.namespace and isinstance(metadata, LMap) and isinstance(metadata.get("name"), str):
            metadata["namespace"] = snapshot.namespace
            metadata.key_lines["namespace"] = metadata.line_of("name")
        added.append(obj)
    keys = {_key(o): o for o in added if o.kind and o.name}
    kept: list[RawObject] = []
    for obj in snapshot.objects:
        replacing = keys.get(_key(obj))
        if replacing is None:
            kept.append(obj)
            continue
        where = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
        diags.info("overlay-replaces", f"{obj.kind} {where} replaces the object of the cluster ({obj.file})",
                   replacing.file, replacing.line)
    return kept + added


def _key(obj: RawObject) -> tuple[str, str, str, str]:
    return obj.group, obj.kind, obj.namespace, obj.name


def revisions(objects: list[RawObject]) -> list[str]:
    """IST-50: the control-plane revisions the listed Namespaces and pods name (``istio.io/rev``;
    ``default`` is the ``istio`` ConfigMap's): one more GET each, for ``istio-<revision>``."""
    found: set[str] = set()
    for o in objects:
        labels = o.metadata.get("labels") if o.kind == "Namespace" else None
        if o.kind != "Namespace":
            spec = o.data.get("spec")
            template = spec.get("template") if isinstance(spec, dict) else None
            meta = template.get("metadata") if isinstance(template, dict) else o.metadata
            labels = meta.get("labels") if isinstance(meta, dict) else None
        rev = labels.get("istio.io/rev") if isinstance(labels, dict) else None
        if isinstance(rev, str) and rev and rev != "default":
            found.add(rev)
    return sorted(found)
