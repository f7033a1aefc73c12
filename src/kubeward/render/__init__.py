"""Renderers: one module per output format. They print results; they never compute them."""
