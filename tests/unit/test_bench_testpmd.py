"""bench.testpmd: what is read from dpdk-testpmd's output."""

from __future__ import annotations

from bench.testpmd import RX_PACKETS_RE

STATS = """
Telling cores to stop...
Waiting for lcores to finish...

  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 7993988        RX-dropped: 0             RX-total: 7993988
  TX-packets: 0              TX-dropped: 0             TX-total: 0
  ----------------------------------------------------------------------------
"""


def test_rx_packets_of_port_0_are_read_from_the_forward_statistics() -> None:
    m = RX_PACKETS_RE.search(STATS)
    assert m is not None and int(m.group(1)) == 7993988


def test_a_log_without_forward_statistics_gives_no_count() -> None:
    assert RX_PACKETS_RE.search("Press enter to exit\nRX-packets: 5\n") is None
