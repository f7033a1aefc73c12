"""Observed traffic: Hubble flow records read, streamed and deduplicated (issue 14). Placing the
endpoints in an analysis and comparing verdicts is in ``analyses/flow_place.py`` and
``analyses/flows.py``."""

from .read import DistinctFlow, Endpoint, FlowRead, read_flows

__all__ = ["DistinctFlow", "Endpoint", "FlowRead", "read_flows"]
