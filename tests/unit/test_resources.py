"""spp.resources: the one parser of UIDs, MACs, VLANs, cores, client ids and names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from spp import resources as R

SCHEMAS = yaml.safe_load((Path(__file__).resolve().parents[2] / "spp/ctl/openapi.yaml")
                         .read_text())["components"]["schemas"]


@pytest.mark.parametrize("text, shown, queue", [
    ("phy:0", "phy:0", 0), ("ring:63", "ring:63", 0), ("vhost:31", "vhost:31", 0),
    ("phy:0nq1", "phy:0 nq 1", 1), ("phy:1 nq 3", "phy:1 nq 3", 3),
])
def test_accepted_uids_and_their_status_form(text, shown, queue):
    ref = R.parse_port(text)
    assert (str(ref), ref.queue) == (shown, queue)
    assert re.fullmatch(SCHEMAS["PortQ"]["pattern"], text)


@pytest.mark.parametrize("text, reason", [
    ("ring:4294967296", "out of range (ring:0-ring:63)"),
    ("ring:64", "out of range"), ("phy:32", "out of range"), ("vhost:32", "out of range"),
    ("ring:\u0661", "is not a resource UID"), ("ring:\u00b2", "is not a resource UID"),
    ("ring:01", "is not a resource UID"), ("ring:" + "1" * 5000, "is not a resource UID"),
    ("pcap:0", "'pcap' is not supported"), ("vhost:0nq1", "phy ports only"),
    ("phy:0nq1024", "out of range (0-1023)"), (7, "is not a resource UID"),
])
def test_refused_uids_say_why(text, reason):
    with pytest.raises(R.ResourceError, match=re.escape(reason)):
        R.parse_port(text)


@pytest.mark.parametrize("value, ok", [
    (0, True), (4094, True), ("10", True), (4095, False), (-1, False), (True, False),
    ("\u0661", False), ("1" * 11, False), (1.0, False), (None, False),
])
def test_vlan_ids_are_0_to_4094_ints_or_ascii_digits(value, ok):
    if ok:
        assert R.check_vlan_id(value) == int(value)
    else:
        with pytest.raises(R.ResourceError):
            R.check_vlan_id(value)


def test_macs_default_and_the_one_formatter():
    assert R.parse_table_mac("default") == (None, "default")
    raw, shown = R.parse_table_mac("FA:16:3E:7D:CC:35")
    assert shown == "FA:16:3E:7D:CC:35" and R.format_mac(raw) == "fa:16:3e:7d:cc:35"
    assert R.parse_table_mac("52-54-00-12-34-5")[1] == "52:54:00:12:34:05"
    for bad in ("ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "52:54:00:12:34", "52:54:00:12:34:zz",
                "52:54:00:12:34:56:78", "\uff15\uff12:54:00:12:34:56"):
        with pytest.raises(R.ResourceError):
            R.parse_table_mac(bad)


def test_names_and_client_ids():
    assert R.check_name("fwd_1.a-b") == "fwd_1.a-b"
    for bad in ("", "a b", "x" * 33, "na\u00efve", None, 3):
        with pytest.raises(R.ResourceError):
            R.check_name(bad)
    assert R.check_client_id("2") == 2
    for bad in (0, 256, "\u0662", True):
        with pytest.raises(R.ResourceError):
            R.check_client_id(bad)
