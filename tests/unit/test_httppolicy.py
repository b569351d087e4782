"""The Host, Origin, token and Content-Type rule shared by the controller and the exporter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spp.httppolicy import HttpPolicy, split_host

LOOPBACK = HttpPolicy.make("127.0.0.1")
JSON = {"Content-Type": "application/json"}


def check(policy: HttpPolicy, headers: dict[str, str], method: str = "GET",
          body: bool = False) -> tuple[int, str] | None:
    refusal = policy.check(method, headers, body)
    return None if refusal is None else (refusal.status, refusal.result)


@pytest.mark.parametrize("host", ["127.0.0.1:7777", "127.0.0.1", "localhost:7777",
                                  "LOCALHOST:7777"])
def test_bind_address_and_localhost_are_answered(host: str) -> None:
    assert check(LOOPBACK, {"Host": host}) is None


def test_request_without_host_or_origin_is_answered() -> None:
    assert check(LOOPBACK, {}) is None


@pytest.mark.parametrize("host", ["attacker.example:7777", "attacker.example", "10.0.0.1:7777",
                                  "localhost.:7777", "127.0.0.1.attacker.example", "",
                                  "127.0.0.1:notaport", "a b", "[::1]:7777", "user@127.0.0.1"])
def test_any_other_host_is_421(host: str) -> None:
    assert check(LOOPBACK, {"Host": host}) == (421, "refused_host")


def test_reason_of_a_foreign_host_names_what_is_answered() -> None:
    refusal = LOOPBACK.check("GET", {"Host": "attacker.example:7777"}, False)
    assert refusal is not None
    assert refusal.reason == ("Host 'attacker.example:7777' is not this server (answered: "
                              "127.0.0.1, localhost; more with --allow-host).")


def test_allow_host_adds_a_name_case_insensitively() -> None:
    policy = HttpPolicy.make("127.0.0.1", ["Spp.Lab.Example"])
    assert check(policy, {"Host": "spp.lab.example:7777"}) is None
    assert check(policy, {"Host": "other.lab.example:7777"}) == (421, "refused_host")


def test_wildcard_bind_answers_ip_literals_but_no_other_name() -> None:
    policy = HttpPolicy.make("0.0.0.0")
    assert check(policy, {"Host": "192.0.2.7:7777"}) is None
    assert check(policy, {"Host": "[2001:db8::1]:7777"}) is None
    assert check(policy, {"Host": "rebind.example:7777"}) == (421, "refused_host")


def test_ipv6_bind_address_is_answered() -> None:
    assert check(HttpPolicy.make("::1"), {"Host": "[::1]:7777"}) is None


@pytest.mark.parametrize("origin", ["http://127.0.0.1:7777", "http://localhost:7777"])
def test_own_origin_is_answered_for_every_method(origin: str) -> None:
    host = origin.removeprefix("http://")
    for method in ("GET", "POST", "PUT", "DELETE"):
        assert check(LOOPBACK, {"Host": host, "Origin": origin, **JSON}, method, True) is None


@pytest.mark.parametrize("origin", [
    "http://evil.example", "http://127.0.0.2:8000", "http://127.0.0.1:8000", "null",
    "https://127.0.0.1:7777", "http://localhost:7777", "file://", "http://127.0.0.1:7777/x",
    "ws://127.0.0.1:7777", "http://127.0.0.1:bad",
])
def test_other_origins_are_403_for_every_method(origin: str) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "OPTIONS"):
        got = check(LOOPBACK, {"Host": "127.0.0.1:7777", "Origin": origin, **JSON}, method)
        assert got == (403, "refused_origin"), (method, origin)


def test_origin_without_host_is_refused() -> None:
    assert check(LOOPBACK, {"Origin": "http://127.0.0.1:7777"}) == (403, "refused_origin")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "", "application/jsonx",
                                   "text/json"])
def test_body_that_is_not_declared_json_is_415(ctype: str) -> None:
    assert check(LOOPBACK, {"Content-Type": ctype}, "POST", True) == (415, "refused_content_type")


def test_body_without_content_type_is_415_and_json_with_charset_is_answered() -> None:
    assert check(LOOPBACK, {}, "PUT", True) == (415, "refused_content_type")
    assert check(LOOPBACK, {"Content-Type": "Application/JSON; charset=utf-8"}, "PUT",
                 True) is None
    assert check(LOOPBACK, {}, "DELETE", False) is None


def test_token_is_required_when_set() -> None:
    policy = HttpPolicy.make("127.0.0.1", token="s3cret", token_hint="/run/spp/ctl-7777.token")
    assert check(policy, {}) == (401, "refused_auth")
    assert check(policy, {"Authorization": "Bearer wrong"}) == (401, "refused_auth")
    assert check(policy, {"Authorization": "Basic s3cret"}) == (401, "refused_auth")
    assert check(policy, {"Authorization": "Bearer s3cret"}) is None
    refusal = policy.check("GET", {}, False)
    assert refusal is not None and "/run/spp/ctl-7777.token" in refusal.reason


def test_host_is_judged_before_origin_and_origin_before_token() -> None:
    policy = HttpPolicy.make("127.0.0.1", token="t")
    assert check(policy, {"Host": "evil.example", "Origin": "http://evil.example"}) == \
        (421, "refused_host")
    assert check(policy, {"Host": "127.0.0.1:7777", "Origin": "http://evil.example"}) == \
        (403, "refused_origin")


@given(st.text(max_size=300))
def test_any_header_value_gives_a_one_line_short_reason(value: str) -> None:
    for headers in ({"Host": value}, {"Origin": value}, {"Content-Type": value}):
        refusal = LOOPBACK.check("POST", headers, True)
        if refusal is not None:
            assert "\n" not in refusal.reason and "\r" not in refusal.reason
            assert len(refusal.reason) < 250


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
       st.integers(1, 65535))
def test_no_generated_name_other_than_localhost_is_answered(name: str, port: int) -> None:
    got = check(LOOPBACK, {"Host": f"{name}:{port}"})
    assert (got is None) == (name == "localhost")


def test_split_host() -> None:
    assert split_host("[::1]:7777") == ("::1", 7777)
    assert split_host("Example.COM") == ("example.com", None)
    assert split_host("x:99999") is None
