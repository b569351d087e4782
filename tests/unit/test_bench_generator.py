"""python -m bench: which generator the pps and cycles cases use (nothing is run)."""

from __future__ import annotations

import pytest

from bench import cases
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
