"""The one error hierarchy of SPP, and what each kind of error becomes.

Every failure an operator can cause or meet is an SppError with a one-line
`reason`. Its class says what kind of failure it is, and the class alone
decides the answer, in the three places where errors become answers:

- a process's reply to the controller (spp.proc.agent): `code`;
- the controller's REST answer (spp.ctl.rest): HTTP status `code`, the body
  `reason`, prefixed `command error: ` when a process refused the command
  (as upstream spp-ctl answers), except for a process's 404;
- the `spp` command and the process mains (spp.cli.main, spp.proc.skeleton):
  the line on stderr and `exit_code`.

docs/errors.md has the table. Anything else that escapes is a bug: the
process answers code 500, the controller HTTP 500, the CLI one line and 1.
"""

from __future__ import annotations

from typing import ClassVar


class SppError(Exception):
    """A failure with a one-line, operator-facing `reason`.

    `status` is the wire code or HTTP status the error arrived with when it
    was received rather than raised here (None otherwise); `source` names the
    process that refused a command relayed by the controller.
    """

    code: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, reason: str, status: int | None = None,
                 source: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.source = source


class Refused(SppError):
    """A request, command or value that cannot be carried out as given."""

    code = 400


class UsageError(Refused):
    """A program's own command line (options, arguments) is wrong or unusable."""

    exit_code = 2


class NotFound(SppError):
    """The process, component, port or path named does not exist."""

    code = 404


class Conflict(Refused):
    """What was asked for belongs to someone else (a client id, a queue, a ring side)."""

    code = 409


class TooLarge(Refused):
    """A request too large to take or to relay."""

    code = 413


class Unavailable(SppError):
    """The controller or a process cannot be reached; the command had no effect."""

    code = 503


class ProcessGone(Unavailable):
    """The process left while a command was on its way; its outcome is unknown."""

    code = 502


class Timeout(Unavailable):
    """The command was sent but not answered in time; its outcome is unknown."""

    code = 504


class InternalError(SppError):
    """A bug: the reason says where; the traceback is in the log of who hit it."""

    code = 500


_BY_CODE: dict[int, type[SppError]] = {
    cls.code: cls for cls in (Refused, NotFound, Conflict, TooLarge, Unavailable, ProcessGone,
                              Timeout, InternalError)
}


def from_code(code: object, reason: str, source: str | None = None) -> SppError:
    """The error a wire code or HTTP status stands for (other 4xx: Refused, else a bug)."""
    num = code if isinstance(code, int) and not isinstance(code, bool) else 500
    cls = _BY_CODE.get(num) or (Refused if 400 <= num < 500 else InternalError)
    return cls(reason, num, source)
