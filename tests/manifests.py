"""Small clusters shared by the CLI and bad-input tests."""

from __future__ import annotations

import textwrap

# A small namespace of two workloads, nothing isolated: everything reaches everything.
APP = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: client, namespace: app}
    spec:
      selector: {matchLabels: {app: client}}
      template:
        metadata: {labels: {app: client}}
        spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: server, namespace: app}
    spec:
      selector: {matchLabels: {app: server}}
      template:
        metadata: {labels: {app: server}}
        spec: {containers: [{name: c, image: x, ports: [{containerPort: 80, name: http}]}]}
    """)
