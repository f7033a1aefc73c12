"""Truth on a real kernel (issue 15): the engine's tier pipelines replayed with nftables in network
namespaces (``kubeward replay``), and the XDP layer run with BPF_PROG_TEST_RUN (``kubeward xdp``, ``--xdp``)."""
