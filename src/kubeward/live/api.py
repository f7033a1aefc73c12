"""The connection to an API server, through the official ``kubernetes`` client: the kubeconfig
(``--kubeconfig``, else ``KUBECONFIG``, else ``~/.kube/config``, as kubectl), its context, the
user's credentials and auth plugins, TLS — all the library's. kubeward only sends GET requests
and decodes the JSON answers itself.

The library is imported here, when a cluster is read, never on the way to reading files (start-up
time). Every failure to connect or authenticate is a :class:`ClusterError` with a message that
names the server and the context and never holds a credential (each message is also scrubbed of
the user's token, password and keys, in case a library's message quotes one).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import msgspec

from ..errors import ClusterError

JSON = "application/json"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
TIMEOUT = (10.0, 120.0)  # seconds: to connect, and between two reads of an answer
DEFAULT_KUBECONFIG = "~/.kube/config"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of the API server: its status, reason and decoded JSON (None when not JSON)."""

    status: int
    reason: str
    body: Any

    @property
    def message(self) -> str:
        """The server's own words (a Status object's message), or the HTTP reason."""
        if isinstance(self.body, dict) and isinstance(self.body.get("message"), str):
            return str(self.body["message"])
        return self.reason


def kubeconfig_path(given: str | None) -> str:
    """The kubeconfig to read, as kubectl chooses it: ``--kubeconfig``, else ``KUBECONFIG`` (a list
    of files joined by the path separator, merged), else ``~/.kube/config``. Raises ClusterError
    when it does not exist."""
    if given:
        if not os.path.isfile(os.path.expanduser(given)):
            raise ClusterError(f"--kubeconfig {given}: no such file")
        return given
    env = os.environ.get("KUBECONFIG", "")
    if env:
        if not any(os.path.isfile(os.path.expanduser(p)) for p in env.split(os.pathsep) if p):
            raise ClusterError(f"no kubeconfig: none of the files of KUBECONFIG exists ({env})")
        return env
    if not os.path.isfile(os.path.expanduser(DEFAULT_KUBECONFIG)):
        raise ClusterError(f"no kubeconfig: {DEFAULT_KUBECONFIG} does not exist; give --kubeconfig FILE or set "
                           "KUBECONFIG")
    return DEFAULT_KUBECONFIG


def _secrets_of(config: Any) -> list[str]:
    """The credentials a message must never show: the user's token, password, keys, certificates."""
    found: list[str] = []
    for value in (*getattr(config, "api_key", {}).values(), getattr(config, "password", None)):
        if isinstance(value, str) and len(value) >= 6:
            found.extend({value, value.removeprefix("Bearer ").strip()})
    return found


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it: urllib3's retry reasons, then Python's causes and contexts."""
    import urllib3

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 20:
        chain.append(seen)
        if isinstance(seen, urllib3.exceptions.MaxRetryError) and seen.reason is not None:
            seen = seen.reason
        else:
            seen = seen.__cause__ or seen.__context__
    return chain


def _reason(exc: BaseException) -> str:
    """Why a request failed, in a few words: the most telling cause urllib3 or ssl gives."""
    import ssl

    import urllib3

    chain = _chain(exc)
    for seen in chain:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS: the server's certificate is not trusted ({seen.verify_message})"
    for seen in chain:
        if isinstance(seen, urllib3.exceptions.NameResolutionError):
            return "its host name does not resolve"
        if isinstance(seen, urllib3.exceptions.NewConnectionError):  # before its base class, ConnectTimeoutError
            text = str(seen)
            return text.rpartition("Failed to establish a new connection: ")[2] or text
        if isinstance(seen, urllib3.exceptions.ConnectTimeoutError):
            return "the connection timed out"
        if isinstance(seen, urllib3.exceptions.ReadTimeoutError):
            return "the server did not answer in time"
        if isinstance(seen, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return f"TLS: {seen}"
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


class Connection:
    """An API client for one context of a kubeconfig (``context`` None: its current context)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        path = kubeconfig_path(kubeconfig)
        self.context, self.namespace, self.server = "", "default", ""
        self._secrets: list[str] = []
        try:  # the library's functions are untyped: held as Any
            k8s_client: Any = importlib.import_module("kubernetes.client")
            k8s_config: Any = importlib.import_module("kubernetes.config")
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ClusterError(f"the kubernetes client library is not installed ({exc})") from exc
        shown = kubeconfig or path
        try:
            contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
        except Exception as exc:
            raise ClusterError(f"cannot read the kubeconfig {shown}: {_config_problem(exc)}") from None
        names = [c.get("name", "") for c in contexts or [] if isinstance(c, dict)]
        chosen = context or _current_context(path) or (current or {}).get("name", "")
        if not chosen:
            raise ClusterError(f"the kubeconfig {shown} has no current context: give --context "
                               f"({', '.join(names) or 'it has none'})")
        if chosen not in names:
            raise ClusterError(f"no context {chosen!r} in the kubeconfig {shown} (contexts: "
                               f"{', '.join(names) or 'none'})")
        entry = next(c for c in contexts if isinstance(c, dict) and c.get("name") == chosen)
        self.context = chosen
        namespace = (entry.get("context") or {}).get("namespace")
        self.namespace = namespace if isinstance(namespace, str) and namespace else "default"
        configuration = k8s_client.Configuration()
        try:
            # persist_config=False: kubeward never writes into the kubeconfig (a refreshed token stays in memory).
            k8s_config.load_kube_config(config_file=path, context=chosen, client_configuration=configuration,
                                        persist_config=False)
        except Exception as exc:
            self._secrets = _secrets_of(configuration)
            raise ClusterError(self.scrub(f"cannot use context {chosen!r} of the kubeconfig {shown}: "
                                          f"{_config_problem(exc)}")) from None
        configuration.retries = 1
        self._secrets = _secrets_of(configuration)
        self.server = _without_userinfo(str(configuration.host))
        self._client: Any = k8s_client.ApiClient(configuration)

    def scrub(self, text: str) -> str:
        """``text`` without any of the user's credentials."""
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    @property
    def where(self) -> str:
        return f"the API server {self.server} (context {self.context})"

    def get(self, path: str, query: list[tuple[str, str]] | None = None, accept: str = JSON) -> Answer:
        """GET ``path``. Raises ClusterError when the server cannot be reached or refuses the
        credentials (401); any other status is the caller's to judge."""
        import urllib3
        from kubernetes.client.exceptions import ApiException  # imported with the client already
        from kubernetes.config.config_exception import ConfigException

        try:
            method, url, headers, _, _ = self._client.param_serialize(
                "GET", path, query_params=query or [], header_params={"Accept": accept}, auth_settings=["BearerToken"])
            response = self._client.call_api(method, url, headers, _request_timeout=TIMEOUT)
            raw = response.read()
        except ApiException as exc:  # the library's TLS failures
            raise ClusterError(self.scrub(f"cannot connect to {self.where}: {_reason(exc)}")) from None
        except ConfigException as exc:  # an auth plugin that fails when the token is refreshed
            raise ClusterError(self.scrub(f"cannot authenticate to {self.where}: {exc}")) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # anything else is a bug: exit code 3
            raise ClusterError(self.scrub(f"cannot reach {self.where}: {_reason(exc)}")) from None
        try:
            body = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            body = None
        answer = Answer(int(response.status), str(response.reason or ""), body)
        if answer.status == 401:
            raise ClusterError(self.scrub(
                f"{self.where} refused the credentials of the context (401 Unauthorized: authentication failed); "
                "check the user of the context, or log in again"))
        return answer

    def close(self) -> None:
        self._client.close()


def _current_context(path: str) -> str:
    """kubectl's current context of a list of kubeconfig files: the first file's that sets one (the
    client library takes the last file's)."""
    import yaml

    for file in path.split(os.pathsep):
        try:
            with open(os.path.expanduser(file), encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the library reports what it cannot read
        current = config.get("current-context") if isinstance(config, dict) else None
        if isinstance(current, str) and current:
            return current
    return ""


def _config_problem(exc: BaseException) -> str:
    """A kubeconfig problem in a few words. A YAML error is told by its line and column only: its
    usual text quotes the line, which may hold a token."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"invalid YAML{where}: {exc.problem or exc.context or 'cannot parse'}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}"
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _without_userinfo(url: str) -> str:
    """A server URL without any ``user:password@`` part."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rpartition("@")[2]
    return f"{scheme}{sep}{host}{slash}{path}" if sep else url
