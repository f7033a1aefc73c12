"""Truth on a real kernel (issue 15): nftables replay, and the XDP layer run with BPF_PROG_TEST_RUN."""
