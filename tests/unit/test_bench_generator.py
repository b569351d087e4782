"""python -m bench: which cases and generator it runs, and how (nothing is run)."""

from __future__ import annotations

import pytest

from bench import cases, family, xdpgen
from bench.__main__ import _parse


def test_in_kernel_generator_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cases.GEN_ENV, raising=False)
    assert _parse(["anchors"]) == (["anchors"], "xdp")
    assert _parse([])[0] == list(cases.CASES)


def test_testpmd_generator_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cases.GEN_ENV, raising=False)
    assert _parse(["--generator", "testpmd", "primary-patch"]) == (["primary-patch"], "testpmd")
    monkeypatch.setenv(cases.GEN_ENV, "testpmd")
    assert _parse(["primary-patch"])[1] == "testpmd"
    assert _parse(["--generator", "xdp"])[1] == "xdp"  # the flag wins


def test_unknown_generator_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cases.GEN_ENV, "pktgen")
    with pytest.raises(SystemExit):
        _parse([])


def test_labels_name_the_generator() -> None:
    assert "BPF_PROG_TEST_RUN" in cases.generator_label("xdp")
    assert "testpmd txonly" in cases.generator_label("testpmd")


def test_cases_may_come_as_one_comma_separated_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make bench CASES=pcap,mirror` hands python -m bench the one word `pcap,mirror`."""
    monkeypatch.delenv(cases.GEN_ENV, raising=False)
    assert _parse(["pcap,mirror"])[0] == ["pcap", "mirror"]
    with pytest.raises(SystemExit):
        _parse(["pcap,nope"])


def test_a_paced_generator_sends_calls_of_a_fraction_of_a_second() -> None:
    argv = xdpgen.gen_argv(seconds=3, pps=1_000_000)
    repeat, batch, seconds, pps = argv[-4:]
    assert (int(repeat), int(batch), seconds, pps) == (
        1_000_000 // xdpgen.PACE_CALLS_PER_S, xdpgen.BATCH, "3", "1000000")
    assert len(xdpgen.gen_argv(seconds=3)) == len(argv) - 1  # unpaced: no PPS argument


def test_pins_name_the_cpu_of_every_lcore() -> None:
    text = family.pins("spp_pcap", (2, 3, 4), ("master", "receive", "writer"))
    assert text.startswith("spp_pcap lcore 2 (master) @CPU")
    assert text.count("@CPU") == 3
