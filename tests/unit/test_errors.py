"""One error hierarchy: each class has one wire code / HTTP status and one exit code."""

from __future__ import annotations

import pytest

from spp import errors as E
from spp.ctl.rest import answer

TABLE = [  # class, code (wire and HTTP), exit code: as docs/errors.md states
    (E.Refused, 400, 1), (E.UsageError, 400, 2), (E.NotFound, 404, 1),
    (E.Conflict, 409, 1), (E.TooLarge, 413, 1), (E.InternalError, 500, 1),
    (E.ProcessGone, 502, 1), (E.Unavailable, 503, 1), (E.Timeout, 504, 1),
]


@pytest.mark.parametrize("cls, code, exit_code", TABLE)
def test_each_error_class_has_one_code_and_one_exit_code(cls: type[E.SppError], code: int,
                                                         exit_code: int) -> None:
    assert (cls.code, cls.exit_code) == (code, exit_code)
    if cls is not E.UsageError:  # a usage error is local: it never arrives by code
        got = E.from_code(code, "why")
        assert type(got) is cls and (got.reason, got.status) == ("why", code)


@pytest.mark.parametrize("code, cls", [(418, E.Refused), (599, E.InternalError),
                                       (None, E.InternalError), (True, E.InternalError)])
def test_codes_without_a_class_fall_back_by_their_range(code: object,
                                                        cls: type[E.SppError]) -> None:
    assert type(E.from_code(code, "x")) is cls


def test_the_library_errors_of_spp_are_in_the_hierarchy() -> None:
    from spp.cli.commands import CommandError
    from spp.native import NativeError
    from spp.proc.agent import Rejected
    from spp.proc.eal import EalError
    from spp.resources import ResourceError

    assert issubclass(EalError, E.UsageError) and issubclass(ResourceError, E.Refused)
    assert issubclass(NativeError, E.Refused) and issubclass(CommandError, E.Refused)
    assert issubclass(Rejected, E.Conflict)


@pytest.mark.parametrize("exc, status, body", [
    (E.from_code(400, "core 9 is busy.", source="vf 1"), 400, "command error: core 9 is busy."),
    (E.from_code(404, "component 'x' not found.", source="vf 1"), 404,
     "component 'x' not found."),
    (E.from_code(500, "internal error in 'status'", source="primary"), 500,
     "command error: internal error in 'status'"),
    (E.NotFound("sec_id 3 not found."), 404, "sec_id 3 not found."),
    (E.Refused("invalid key(port): x."), 400, "invalid key(port): x."),
    (E.Timeout("vf 1 did not answer."), 504, "vf 1 did not answer."),
])
def test_rest_answers_take_the_status_of_the_class_and_upstreams_prefix(
        exc: E.SppError, status: int, body: str) -> None:
    res = answer(exc)
    assert (res.status, res.text) == (status, body)
