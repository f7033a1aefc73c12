"""Hubble flow records (``hubble observe -o json`` / ``-o jsonpb``): one JSON object per line,
``{"flow": {...}, "node_name": ..., "time": ...}`` or a bare flow; field names snake_case
(older output) or camelCase (protobuf JSON). Read from files, folders and ``-``, gzip detected by
its magic bytes, streamed line by line: memory grows with the number of *distinct* flows, never
with the number of lines. A line that is not a flow record is a diagnostic with file:line; the
other lines are still read."""

from __future__ import annotations

import functools
import gzip
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urlsplit

import msgspec

from ..diagnostics import Diagnostics

# Labels of an endpoint that say nothing about which workload it is (CIL-29).
_META_PREFIXES = ("io.kubernetes.pod.namespace", "io.cilium.k8s.", "io.cilium.", "io.kubernetes.pod.")
_BAD_LINES_SHOWN = 20  # diagnostics per input for unreadable lines; the rest are counted


class _Workload(msgspec.Struct):
    name: str = ""
    kind: str = ""


class _Endpoint(msgspec.Struct):
    namespace: str = ""
    pod_name: str = ""
    pod_name_c: str = msgspec.field(name="podName", default="")
    labels: list[str] = []
    identity: int = 0
    workloads: list[_Workload] = []


class _Ip(msgspec.Struct):
    source: str = ""
    destination: str = ""


class _Ports(msgspec.Struct):
    destination_port: int = 0
    destination_port_c: int = msgspec.field(name="destinationPort", default=0)


class _Icmp(msgspec.Struct):
    type: int = 0


class _L4(msgspec.Struct):
    TCP: _Ports | None = None
    UDP: _Ports | None = None
    SCTP: _Ports | None = None
    ICMPv4: _Icmp | None = None
    ICMPv6: _Icmp | None = None


class _Http(msgspec.Struct):
    method: str = ""
    url: str = ""
    code: int = 0


class _Dns(msgspec.Struct):
    query: str = ""


class _L7(msgspec.Struct):
    type: str | int = ""
    http: _Http | None = None
    dns: _Dns | None = None


class _Policy(msgspec.Struct):
    name: str = ""
    namespace: str = ""
    kind: str = ""


class _Flow(msgspec.Struct):
    flow: _Flow | None = None  # the envelope of the current CLI; absent in a bare flow
    time: str = ""
    verdict: str | int = ""
    drop_reason_desc: str | int = ""
    drop_reason_desc_c: str | int = msgspec.field(name="dropReasonDesc", default="")
    IP: _Ip | None = None
    l4: _L4 | None = None
    l7: _L7 | None = None
    source: _Endpoint | None = None
    destination: _Endpoint | None = None
    is_reply: bool | None = None
    is_reply_c: bool | None = msgspec.field(name="isReply", default=None)
    traffic_direction: str | int = ""
    traffic_direction_c: str | int = msgspec.field(name="trafficDirection", default="")
    destination_names: list[str] = []
    destination_names_c: list[str] = msgspec.field(name="destinationNames", default_factory=list)
    egress_allowed_by: list[_Policy] = []
    egress_allowed_by_c: list[_Policy] = msgspec.field(name="egressAllowedBy", default_factory=list)
    ingress_allowed_by: list[_Policy] = []
    ingress_allowed_by_c: list[_Policy] = msgspec.field(name="ingressAllowedBy", default_factory=list)
    ingress_denied_by: list[_Policy] = []
    ingress_denied_by_c: list[_Policy] = msgspec.field(name="ingressDeniedBy", default_factory=list)
    egress_denied_by: list[_Policy] = []
    egress_denied_by_c: list[_Policy] = msgspec.field(name="egressDeniedBy", default_factory=list)


_DECODER = msgspec.json.Decoder(_Flow)

# flow.proto's Verdict and DropReason as numbers (protobuf JSON may print an enum as its number).
_VERDICTS = {0: "VERDICT_UNKNOWN", 1: "FORWARDED", 2: "DROPPED", 3: "ERROR", 4: "AUDIT", 5: "REDIRECTED",
             6: "TRACED", 7: "TRANSLATED"}
_DROP_REASONS = {133: "POLICY_DENIED", 181: "POLICY_DENY", 189: "AUTH_REQUIRED"}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a flow as Hubble reported it: what placing it in an analysis reads."""

    namespace: str = ""
    pod: str = ""
    labels: tuple[str, ...] = ()    # key=value, without the k8s: source prefix and meta labels
    reserved: tuple[str, ...] = ()  # reserved:world, reserved:host, … without the prefix
    ip: str = ""                    # kept only when no pod names the end (an address outside)
    workload: str = ""              # Hubble's own workload name, when it sends one
    identity: int = 0
    peer: str = ""                  # placed: the analysis's peer (the other fields then are the first seen)
    placed_by: str = ""

    @property
    def display(self) -> str:
        if self.peer:
            return self.peer
        if self.pod:
            return f"{self.namespace}/{self.pod}"
        if self.reserved:
            return f"reserved:{self.reserved[0]}" + (f" ({self.ip})" if self.ip else "")
        if self.labels:
            return f"{self.namespace + '/' if self.namespace else ''}{{{','.join(self.labels)}}}"
        return self.ip or f"identity {self.identity}"


@dataclass(frozen=True, slots=True)
class FlowKey:
    source: Endpoint
    destination: Endpoint
    protocol: str          # TCP, UDP, SCTP, ICMPv4, ICMPv6, or "" when the record has no L4
    port: int | None
    method: str = ""       # HTTP
    path: str = ""
    host: str = ""
    dns: str = ""          # DNS query name
    names: tuple[str, ...] = ()  # destination_names: the FQDNs the destination address answered for
    verdict: str = ""
    drop_reason: str = ""
    reply: bool = False
    policies: tuple[str, ...] = ()  # policies Hubble names (…allowed_by / …denied_by), kind/ns/name


@dataclass(slots=True)
class DistinctFlow:
    """Observed flows that are the same question: how many, first and last time."""

    key: FlowKey
    count: int = 0
    first: str = ""
    last: str = ""
    where: str = ""  # file:line of the first record


@dataclass(slots=True)
class FlowRead:
    flows: list[DistinctFlow] = field(default_factory=list)
    lines: int = 0           # records read
    bad_lines: int = 0       # lines that are not flow records (diagnostics)
    other_records: int = 0   # well-formed records that are not flows (lost events, node status)
    files: int = 0
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


def _text(value: str | int, names: dict[int, str]) -> str:
    return names.get(value, str(value)) if isinstance(value, int) else value


Place = Callable[[Endpoint, tuple[str, ...]], Endpoint]


class _Ends:
    """Endpoints built once per distinct (namespace, pod, labels, address, DNS names) and, with
    ``place``, replaced by their place in an analysis: flows then collapse to workloads as they
    are read, so memory grows with distinct workload pairs, not with pods."""

    def __init__(self, place: Place | None) -> None:
        self.place = place
        self.cache: dict[tuple[str, str, tuple[str, ...], str, tuple[str, ...]], Endpoint] = {}

    def get(self, ep: _Endpoint | None, ip: str, names: tuple[str, ...] = ()) -> Endpoint:
        if ep is None:
            key: tuple[str, str, tuple[str, ...], str, tuple[str, ...]] = ("", "", (), ip, names)
        else:
            pod = ep.pod_name or ep.pod_name_c
            key = (ep.namespace, pod, tuple(ep.labels), "" if pod else ip, names)
        found = self.cache.get(key)
        if found is None:
            found = _endpoint(ep, ip)
            if self.place is not None:
                found = self.place(found, names)
            if len(self.cache) < 1_000_000:
                self.cache[key] = found
        return found


@functools.lru_cache(maxsize=65536)
def _url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path or "/", parts.hostname or ""


def _endpoint(ep: _Endpoint | None, ip: str) -> Endpoint:
    if ep is None:
        return Endpoint(ip=ip)
    labels: list[str] = []
    reserved: list[str] = []
    for label in ep.labels:
        source, sep, rest = label.partition(":")
        if not sep:
            source, rest = "", label
        if source == "reserved":
            reserved.append(rest.partition("=")[0])
        elif not rest.startswith(_META_PREFIXES):
            labels.append(rest)
    pod = ep.pod_name or ep.pod_name_c
    workload = ep.workloads[0].name if ep.workloads else ""
    return Endpoint(ep.namespace, pod, tuple(sorted(labels)), tuple(reserved), "" if pod else ip, workload,
                    ep.identity)


def _key(f: _Flow, ends: _Ends) -> FlowKey | None:
    ip = f.IP or _Ip()
    if f.source is None and f.destination is None and not ip.source and not ip.destination:
        return None
    protocol, port = "", None
    if f.l4 is not None:
        for name in ("TCP", "UDP", "SCTP"):
            ports: _Ports | None = getattr(f.l4, name)
            if ports is not None:
                protocol, port = name, (ports.destination_port or ports.destination_port_c or None)
                break
        else:
            if f.l4.ICMPv4 is not None:
                protocol = "ICMPv4"
            elif f.l4.ICMPv6 is not None:
                protocol = "ICMPv6"
    method = path = host = dns = ""
    reply = bool(f.is_reply or f.is_reply_c)
    if f.l7 is not None:
        if f.l7.http is not None:
            method = f.l7.http.method.upper()
            path, host = _url(f.l7.http.url)
        if f.l7.dns is not None:
            dns = f.l7.dns.query.rstrip(".").lower()
        if _text(f.l7.type, {2: "RESPONSE"}) == "RESPONSE":
            reply = True  # an L7 response is the answer to a request already counted
    policies: tuple[str, ...] = ()
    if (f.egress_allowed_by or f.egress_allowed_by_c or f.ingress_allowed_by or f.ingress_allowed_by_c
            or f.ingress_denied_by or f.ingress_denied_by_c or f.egress_denied_by or f.egress_denied_by_c):
        policies = tuple(sorted({f"{p.kind + ':' if p.kind else ''}{p.namespace}/{p.name}" for p in (
            *f.egress_allowed_by, *f.egress_allowed_by_c, *f.ingress_allowed_by, *f.ingress_allowed_by_c,
            *f.ingress_denied_by, *f.ingress_denied_by_c, *f.egress_denied_by, *f.egress_denied_by_c)}))
    raw_names = f.destination_names or f.destination_names_c
    names = tuple(sorted({n.rstrip(".").lower() for n in raw_names})) if raw_names else ()
    if reply:
        port = None  # a reply's destination port is the client's ephemeral port: one reply flow per pair
    return FlowKey(ends.get(f.source, ip.source), ends.get(f.destination, ip.destination, names), protocol, port,
                   method, path, host, dns, names, _text(f.verdict, _VERDICTS),
                   _text(f.drop_reason_desc or f.drop_reason_desc_c, _DROP_REASONS), reply, policies)


def _files(paths: Iterable[str], diags: Diagnostics) -> Iterator[str]:
    for path in paths:
        if path == "-":
            yield path
        elif os.path.isdir(path):
            found = sorted(os.path.join(d, n) for d, _, names in os.walk(path) for n in names
                           if not n.startswith("."))
            if not found:
                diags.error("flows-empty-folder", f"{path}: no flow files in this folder", path)
            yield from found
        elif os.path.isfile(path):
            yield path
        else:
            diags.error("flows-not-found", f"{path}: no such file or folder", path)


def _open(path: str) -> IO[bytes]:
    raw: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


def read_flows(paths: Iterable[str], progress: Callable[[int], None] | None = None,
               place: Place | None = None) -> FlowRead:
    """The distinct flows of the records in ``paths`` (files, folders, ``-``), in the order first
    seen. ``progress`` is called with the number of records read every 65,536 lines. ``place``
    (``Placer.endpoint`` of an analysis) turns each distinct endpoint into its peer, so flows are
    deduplicated by workload; without it, by what Hubble names (pod, labels, address)."""
    paths = list(paths)
    out = FlowRead()
    ends = _Ends(place)
    distinct: dict[FlowKey, DistinctFlow] = {}
    decode = _DECODER.decode
    for path in _files(paths, out.diagnostics):
        out.files += 1
        shown = "<stdin>" if path == "-" else path
        bad = 0
        try:
            stream = _open(path)
        except OSError as exc:
            out.diagnostics.error("flows-unreadable", f"{shown}: {exc.strerror or exc}", shown)
            continue
        try:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                if progress is not None and not number & 0xFFFF:
                    progress(out.lines)
                try:
                    record = decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    bad += 1
                    if bad <= _BAD_LINES_SHOWN:
                        out.diagnostics.warning("flows-bad-line", f"not a Hubble flow record: {exc}", shown, number)
                    continue
                flow = record.flow or record
                key = _key(flow, ends)
                if key is None:
                    out.other_records += 1
                    continue
                out.lines += 1
                when = flow.time or record.time
                seen = distinct.get(key)
                if seen is None:
                    seen = distinct[key] = DistinctFlow(key, 0, when, when, f"{shown}:{number}")
                seen.count += 1
                if when:
                    if not seen.first or when < seen.first:
                        seen.first = when
                    if when > seen.last:
                        seen.last = when
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            out.diagnostics.error("flows-unreadable", f"{shown}: {exc}", shown)
        finally:
            if path != "-":
                stream.close()
        if bad > _BAD_LINES_SHOWN:
            out.diagnostics.warning("flows-bad-line", f"{bad - _BAD_LINES_SHOWN} more lines that are not Hubble flow "
                                  "records (the first are listed)", shown)
        out.bad_lines += bad
    if out.files and not out.lines and not out.diagnostics.has_errors:
        # Nothing to compare: every rule would read as unused, every check as passed.
        out.diagnostics.error("flows-empty", f"no Hubble flow record in {', '.join(paths)} ({out.bad_lines:,} lines "
                              f"that are not flow records, {out.other_records:,} other records): nothing to compare",
                              "<stdin>" if paths == ["-"] else paths[0] if len(paths) == 1 else "")
    out.flows = list(distinct.values())
    return out
