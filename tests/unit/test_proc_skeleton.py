"""The option tables every process is parsed by, and the exit codes of their mains."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from spp.errors import UsageError
from spp.proc import mirror, nfv, skeleton
from spp.proc.skeleton import APP, BOTH, EAL, Opt, Skip, address, number


@dataclass
class Options:
    ports: list[str] = field(default_factory=list)
    count: int = 0
    ctl: str = "default"
    flag: bool = False
    client: int | None = None


TABLE: skeleton.Table = (
    Opt(("--port",), "ports", EAL, append=True),
    Opt(("--count",), "count", EAL, number("--count")),
    Opt(("-s",), "ctl", APP, address, bare=True),
    Opt(("--flag",), "flag", BOTH, None),
    Opt(("--client-id",), "client", BOTH, number("--client-id")),
    Skip(("-m",)),
)


def parse(*argv: str) -> tuple[Options, list[str]]:
    opts = Options()
    eal = skeleton.parse_options(list(argv), TABLE, opts, "test", "--client-id N -s IP:PORT")
    return opts, eal


def test_table_options_fill_the_fields_and_the_rest_before_dashes_goes_to_eal() -> None:
    opts, eal = parse("start", "-l", "1,2", "--port", "a", "--port=b", "--count", "3", "-m",
                      "512", "--", "--client-id", "4", "-s", "10.0.0.1:9", "--flag")
    assert (opts.ports, opts.count, opts.ctl, opts.flag, opts.client) == (
        ["a", "b"], 3, "10.0.0.1:9", True, 4)
    assert eal == ["-l", "1,2"]  # `start` and the skipped `-m 512` are gone


def test_a_bare_valued_option_keeps_its_default_at_the_end_or_before_another_option() -> None:
    assert parse("--", "-s")[0].ctl == "default"
    assert parse("--", "-s", "--flag")[0] == Options(ctl="default", flag=True)


@pytest.mark.parametrize("argv, reason", [
    (("--count",), "--count needs a value"),
    (("--count", "x"), "--count 'x' is not a number"),
    (("--", "--port", "a"), "unknown test option '--port' \\(after --: --client-id N"),
    (("--", "-s", "host:99999"), "is not IP:PORT"),
])
def test_bad_options_are_usage_errors_naming_the_cause(argv: tuple[str, ...],
                                                       reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse(*argv)


def test_a_main_that_fails_before_start_prints_one_line_and_exits_2(capsys) -> None:
    def prepare() -> skeleton.Process:
        raise UsageError("--client-id is required")

    assert skeleton.run("spp test", prepare) == 2
    assert capsys.readouterr().err == "spp test: --client-id is required\n"


# ---- the secondaries' common options ------------------------------------------


@pytest.mark.parametrize("mod, lcores, id_opt", [
    (mirror, "2-4", "--client-id"),
    (nfv, "1,2", "-n"),  # upstream's secondary id; EAL's -n before `--` is kept
])
def test_upstream_command_line_fills_the_options(mod, lcores, id_opt):
    o = mod.parse_args(["-l", lcores, "-n", "4", "--proc-type=secondary", "--",
                        id_opt, "3", "-s", "192.168.1.100:6666", "--vhost-client"])
    assert (o.client_id, o.ctl, o.vhost_client) == (3, "192.168.1.100:6666", True)
    assert o.eal == ["-l", lcores, "-n", "4", "--proc-type=secondary"]


@pytest.mark.parametrize("mod, lcores", [(mirror, "4-6"), (nfv, "4,5")])
def test_friendly_start_form(mod, lcores):
    o = mod.parse_args(["start", "--client-id", "2", "--ctl", "127.0.0.1:7000", "-l", lcores])
    assert (o.client_id, o.ctl, o.vhost_client, o.eal) == (2, "127.0.0.1:7000", False,
                                                          ["-l", lcores])
