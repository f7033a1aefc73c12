"""The real kernel as a second oracle: the engine's tier pipelines compiled into nftables and
replayed in network namespaces (``kubeward replay``)."""
