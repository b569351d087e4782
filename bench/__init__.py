"""spp-xdp benchmarks: `python -m bench [CASES...]` (see bench/__main__.py)."""
