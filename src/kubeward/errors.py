"""kubeward's exceptions. Bad *input* is never an exception: it is a Diagnostic."""

from __future__ import annotations


class KubewardError(Exception):
    """Base of every exception kubeward raises on purpose."""


class UsageError(KubewardError):
    """The command line asks for something the input cannot answer (exit code 2)."""


class ClusterError(KubewardError):
    """A live cluster cannot be read: no kubeconfig, an unknown context, the API server unreachable
    or refusing the credentials (exit code 2). The message never holds a token or a key."""
