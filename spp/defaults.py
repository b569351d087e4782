"""The defaults every part of SPP agrees on: addresses, ports, run directory, limits.

The controller's three ports are upstream SPP's (primary, secondaries, REST);
the Prometheus exporter has one of its own. Each default is written here once;
the controller, the processes, the CLI, the topology model, the exporter, the
tests and the benchmark read it here.

The data plane's table sizes and name lengths are the C core's: spp.native.limits
reads them from native/include/spp_native.h when the core is built; they are
never retyped in Python.
"""

from __future__ import annotations

from pathlib import Path

LOCALHOST = "127.0.0.1"
PRIMARY_PORT = 5555
SECONDARY_PORT = 6666
API_PORT = 7777
METRICS_PORT = 9877

PRIMARY_ADDR = f"{LOCALHOST}:{PRIMARY_PORT}"
SECONDARY_ADDR = f"{LOCALHOST}:{SECONDARY_PORT}"
API_ADDR = f"{LOCALHOST}:{API_PORT}"
API_URL = f"http://{API_ADDR}"

CTL_ENV = "SPP_CTL"  # the controller the CLI talks to, IP[:PORT]

RUN_DIR_ENV = "SPP_RUN_DIR"
RUN_DIR = Path("/run/spp")
FILE_PREFIX = "spp"  # DPDK --file-prefix: one SPP instance
