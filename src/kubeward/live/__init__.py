"""Live cluster input (``--cluster``): the objects of a running cluster, read through its API
server with the official ``kubernetes`` client, as the same located objects the file loader
produces — so every later stage reads them unchanged.

``kinds``: what is listed, and what it means for the answer when a kind cannot be read; ``api``:
the connection (kubeconfig, context, credentials, TLS: the library's; imported only here, when a
cluster is read); ``convert``: a list item → located values, without YAML text in between;
``read``: discovery, paginated lists, diagnostics, and overlaying files on the live objects.
"""

from .read import PAGE_SIZE, LiveSnapshot, Progress, overlay, read_cluster

__all__ = ["LiveSnapshot", "PAGE_SIZE", "Progress", "overlay", "read_cluster"]
