"""Who may drive the lab: Host, Origin, Sec-Fetch-Site and content type, for every route.

The routes are read from ``app.routes`` (never a fixed list), so a route added later is covered
by these tests as it is by the middleware. Hostile JSON bodies (huge integers, deep nesting) get
a 4xx naming the problem on every state-changing route.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import WebSocketDenialResponse
from web_helpers import LONG, app_routes, wait_for

from theoryscope.errors import ConfigError
from theoryscope.web.app import create_app
from theoryscope.web.guard import (
    LOOPBACK_HOSTS,
    UNSAFE_METHODS,
    check_host_pattern,
    normalize_origin,
)
from theoryscope.web.jsonbody import MAX_INT_DIGITS, MAX_JSON_DEPTH, json_depth, loads
from theoryscope.web.limits import Limits

FOREIGN = (
    "https://evil.example.com",
    "http://evil.example.com:8000",
    "null",
    "http://testserver:8001",
)
SAMPLE_PARAMS = {"run_id": "r0nope", "action": "pause", "name": "run.csv"}


def _path(template: str) -> str:
    """A concrete path for a route template: every ``{param}`` filled in."""
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x1"), template)


def http_routes(app) -> list[tuple[str, str]]:
    """(method, concrete path) of every HTTP route of the app, mounts included."""
    out: list[tuple[str, str]] = []
    for route, path, methods in app_routes(app):
        if isinstance(route, Mount):
            out.append(("GET", _path(path) + "/lab.js"))
        elif isinstance(route, Route):
            out.extend((method, _path(path)) for method in sorted(methods or ()))
    return out


def unsafe_routes(app) -> list[tuple[str, str]]:
    return [(m, p) for m, p in http_routes(app) if m in UNSAFE_METHODS]


def ws_routes(app) -> list[str]:
    return [_path(path) for route, path, _ in app_routes(app) if isinstance(route, WebSocketRoute)]


@pytest.fixture()
def app(store_path):
    return create_app(store_path, Limits(detach_grace_s=0.3), allowed_hosts=["testserver"])


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def _is_error(res, status: int, *words: str) -> dict[str, Any]:
    assert res.status_code == status, (res.status_code, res.text[:300])
    body = res.json()
    assert isinstance(body.get("error"), str) and "\n" not in body["error"]
    for word in words:
        assert word in body["error"], (word, body["error"])
    return body


def test_the_route_lists_are_not_empty(app):
    """The iteration below covers real routes: every state-changing one and the stream."""
    unsafe = unsafe_routes(app)
    assert {("POST", "/api/live"), ("POST", "/api/theory"), ("DELETE", "/api/runs/r0nope")} <= set(
        unsafe
    )
    assert ("POST", "/api/experiments/run.csv/studies/x1") in unsafe
    assert len(unsafe) >= 7
    assert ws_routes(app) == ["/api/live/r0nope/ws"]


# -- defect 1: cross-site requests -----------------------------------------------------------------
def test_every_unsafe_route_refuses_a_foreign_origin(client, app):
    for method, path in unsafe_routes(app):
        for origin in FOREIGN:
            res = client.request(method, path, json={"config": {}}, headers={"Origin": origin})
            _is_error(res, 403, "cross-site", "--allow-origin")
    assert client.get("/api/live").json() == {"runs": []}  # nothing was started


def test_a_text_plain_post_from_a_foreign_page_starts_no_run(client):
    """The reported attack: a form-like text/plain POST to /api/live from another origin."""
    body = '{"config": {"d": 2, "k": 50, "steps": 100}, "seed": 0}'
    res = client.post(
        "/api/live",
        content=body,
        headers={"Origin": "https://evil.example.com", "Content-Type": "text/plain"},
    )
    _is_error(res, 403, "cross-site")
    assert client.get("/api/live").json() == {"runs": []}


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
    ],
)
def test_every_unsafe_route_refuses_a_non_json_body(client, app, ctype):
    for method, path in unsafe_routes(app):
        res = client.request(
            method, path, content=b"activation=relu", headers={"Content-Type": ctype}
        )
        _is_error(res, 415, "application/json")
        # the same from the lab's own page: still refused (the type, not the origin, is wrong)
        res = client.request(
            method,
            path,
            content=b"a=1",
            headers={"Content-Type": ctype, "Origin": "http://testserver"},
        )
        _is_error(res, 415)


def test_a_body_without_content_type_is_refused_but_an_empty_one_passes(client, app):
    for method, path in unsafe_routes(app):
        res = client.request(method, path, content=b'{"a": 1}', headers={"Content-Type": ""})
        assert res.status_code == 415, (method, path, res.text)
        res = client.request(method, path)  # no body at all (the page's pause / stop)
        assert res.status_code not in (403, 415), (method, path, res.text)


def test_the_lab_s_own_origins_and_non_browser_clients_pass(client, app):
    own = [
        ({}, None),  # curl / the CLI: no Origin, no Sec-Fetch-Site
        ({"Origin": "http://testserver"}, None),
        ({"Sec-Fetch-Site": "same-origin"}, None),
        ({"Origin": "http://127.0.0.1:8765"}, "127.0.0.1:8765"),
        ({"Origin": "http://localhost:8765"}, "127.0.0.1:8765"),
        ({"Origin": "http://[::1]:8765"}, "localhost:8765"),
        ({"Origin": "http://localhost:8765"}, "[::1]:8765"),
    ]
    for method, path in unsafe_routes(app):
        for headers, host in own:
            sent = {**headers, **({"Host": host} if host else {})}
            res = client.request(method, path, json={"config": {"d": 0}}, headers=sent)
            assert (
                res.status_code not in (400, 403, 415)
                or "config" in res.text
                or (res.status_code == 400 and "JSON" in res.text)
            ), (method, path, sent, res.status_code, res.text)
            assert "cross-site" not in res.text and "not a name of this lab" not in res.text


def test_same_host_on_another_port_is_a_foreign_origin(client):
    res = client.post(
        "/api/theory",
        json={"config": {}},
        headers={"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:3000"},
    )
    _is_error(res, 403, "cross-site")


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_no_origin_but_a_cross_site_fetch_is_refused(client, app, site):
    for method, path in unsafe_routes(app):
        res = client.request(method, path, json={}, headers={"Sec-Fetch-Site": site})
        _is_error(res, 403, "Sec-Fetch-Site")


def test_safe_methods_are_not_origin_checked(client):
    res = client.get("/api/meta", headers={"Origin": "https://evil.example.com"})
    assert res.status_code == 200
    assert "access-control-allow-origin" not in res.headers  # and the browser hides the answer


def test_allowed_origins_widen_on_purpose(store_path):
    app = create_app(
        store_path,
        allowed_hosts=["testserver"],
        allowed_origins=["https://Lab.Example.org:443/", "http://10.0.0.5:9000"],
    )
    with TestClient(app) as client:
        for origin in ("https://lab.example.org", "http://10.0.0.5:9000"):
            res = client.post("/api/validate", json={"config": {}}, headers={"Origin": origin})
            assert res.status_code == 200, res.text
        res = client.post(
            "/api/validate", json={"config": {}}, headers={"Origin": "http://10.0.0.5:9001"}
        )
        _is_error(res, 403)


# -- defect 1: the WebSocket handshake ------------------------------------------------------------
def test_every_websocket_refuses_a_foreign_origin(client, app):
    for path in ws_routes(app):
        for origin in FOREIGN:
            with pytest.raises(WebSocketDenialResponse) as denied:
                with client.websocket_connect(path, headers={"Origin": origin}):
                    pass
            assert denied.value.status_code == 403
            assert "cross-site" in denied.value.json()["error"]
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect(path, headers={"Sec-Fetch-Site": "cross-site"}):
                pass
        assert denied.value.status_code == 403


def test_the_lab_s_own_page_may_open_the_stream(client, app):
    for path in ws_routes(app):
        with client.websocket_connect(path, headers={"Origin": "http://testserver"}) as ws:
            assert ws.receive_json()["type"] == "error"  # no such run: but the handshake passed


# -- defect 2: DNS rebinding -----------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:8000", "127.0.0.1.nip.io"])
def test_every_route_refuses_a_foreign_host(client, app, host):
    for method, path in http_routes(app):
        res = client.request(method, path, headers={"Host": host})
        if method == "HEAD":  # no body to read
            assert res.status_code == 400
            continue
        body = _is_error(res, 400, "not a name of this lab", "--allow-host")
        assert "runs" not in body
    for path in ws_routes(app):
        with pytest.raises(WebSocketDenialResponse) as denied:
            with client.websocket_connect(path, headers={"Host": host}):
                pass
        assert denied.value.status_code == 400


def test_the_run_history_is_not_served_to_a_rebound_name(client):
    res = client.get("/api/runs", headers={"Host": "evil.example.com"})
    assert res.status_code == 400 and "runs" not in res.json()


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "localhost:1234", "[::1]:8000"])
def test_the_loopback_names_are_accepted(client, host):
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_default_app_accepts_only_the_loopback_names(store_path):
    with TestClient(create_app(store_path)) as client:  # no allowed_hosts: not even testserver
        assert client.get("/api/health").status_code == 400
        res = client.get("/api/health", headers={"Host": "localhost:8000"})
        assert res.status_code == 200
    assert set(LOOPBACK_HOSTS) == {"127.0.0.1", "localhost", "[::1]"}


def test_allowed_hosts_take_patterns(store_path):
    app = create_app(store_path, allowed_hosts=["*.lab.example.org", "mybox"])
    with TestClient(app, base_url="http://mybox") as client:
        assert client.get("/api/health").status_code == 200
        for host, status in [("a.lab.example.org", 200), ("lab.example.org", 400), ("x.org", 400)]:
            assert client.get("/api/health", headers={"Host": host}).status_code == status
        # a wildcard host never widens the origins: a page at a.lab.example.org is still foreign
        res = client.post(
            "/api/validate",
            json={},
            headers={"Host": "a.lab.example.org", "Origin": "http://a.lab.example.org"},
        )
        _is_error(res, 403)


def test_host_and_origin_values_are_checked():
    assert normalize_origin("HTTP://LocalHost:80/") == "http://localhost"
    assert normalize_origin("https://[::1]:8443") == "https://[::1]:8443"
    for bad in ("ftp://x", "http://x/path", "localhost:8000", "http://", "null", "http://a:99999"):
        with pytest.raises(ConfigError, match="allow-origin"):
            normalize_origin(bad)
    assert check_host_pattern("LAB.example.org") == "lab.example.org"
    assert check_host_pattern("::1") == "[::1]"
    for bad in ("a/b", "ex*.org", "*x.org", "host:8000", ""):
        with pytest.raises(ConfigError, match="allow-host"):
            check_host_pattern(bad)


# -- defect 3: hostile JSON bodies ------------------------------------------------------------------
HOSTILE = {
    "digits": b'{"config": {"k": ' + b"1" * 4301 + b"}}",
    "digits-top": b"9" * 5000,
    "nested": b"[" * 1000 + b"]" * 1000,  # 2 KB, 1,000 deep
    "nested-object": b'{"a":' * 600 + b"1" + b"}" * 600,
    "nan": b'{"config": {"lr": NaN}}',
    "overflow": b'{"config": {"lr": 1e400}}',
}
NAMED = {
    "digits": "digits",
    "digits-top": "digits",
    "nested": "nested",
    "nested-object": "nested",
    "nan": "NaN",
    "overflow": "out of range",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_json_is_a_4xx_naming_the_problem_on_every_unsafe_route(client, app, kind):
    for method, path in unsafe_routes(app):
        res = client.request(
            method, path, content=HOSTILE[kind], headers={"Content-Type": "application/json"}
        )
        _is_error(res, 400, NAMED[kind])
    assert client.get("/api/health").status_code == 200


def test_hostile_websocket_messages_are_ignored_and_control_still_works(client):
    """The stream's receiver parses with the same bounded parser: deep or huge messages are
    dropped, the stream stays up, and a plain ``pause`` afterwards still pauses the run."""
    res = client.post("/api/live", json={"config": LONG, "seed": 0})
    assert res.status_code == 201, res.text
    run_id = res.json()["run_id"]
    with client.websocket_connect(f"/api/live/{run_id}/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        for text in ("[" * 5000 + "]" * 5000, "9" * 5000, '{"action": NaN}', '{"action": [1]}'):
            ws.send_text(text)
        ws.send_text('{"action": "pause"}')
        wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["live_state"] == "paused")
        ws.send_text('{"action": "stop"}')
        while ws.receive_json()["type"] != "done":
            pass


def test_the_bounded_parser():
    assert json_depth('{"a": [1, {"b": "]]}}[[\\"["}]}') == 3
    assert loads(b'{"a": [1, 2.5, null, "x"]}') == {"a": [1, 2.5, None, "x"]}
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert loads("1" * MAX_INT_DIGITS) == int("1" * MAX_INT_DIGITS)
    for text in (
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        "1" * (MAX_INT_DIGITS + 1),
    ):
        with pytest.raises(Exception, match="deep|digits"):
            loads(text)


# -- defect 16: zero terms ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["terms", "alpha"])
def test_an_explicit_empty_term_list_is_refused(client, key):
    for path in ("/api/validate", "/api/theory"):
        body = _is_error(client.post(path, json={"config": {key: []}}), 422, "empty", key)
        assert body["field"] == key
    body = _is_error(client.post("/api/live", json={"config": {key: []}, "seed": 0}), 422)
    assert body["field"] == key
    assert client.get("/api/live").json() == {"runs": []}
    # leaving it out still means the default target
    res = client.post("/api/validate", json={"config": {}})
    assert res.status_code == 200 and res.json()["config"]["terms"][0]["alpha"] == [1, 1, 0]


# -- defect 16: the wide-networks width error states the limit the page shows ------------------------
def test_widenets_width_errors_state_the_page_s_cap(client):
    """The generic page shows each field's declared web cap; the server's error states the same
    number (the hand-made page's separate caps line is gone with the page)."""
    fields = {f["name"]: f for f in client.get("/api/experiments/widenets").json()["fields"]}
    cap = int(fields["width"]["web_max"])
    for width in (cap + 1, 20_000_000, 10**12):
        res = client.post("/api/live", json={"experiment": "widenets",
                                             "config": {"width": width}, "seed": 0})  # fmt: skip
        body = _is_error(res, 422)
        assert body["field"] == "width"
        assert f"{cap:,}" in body["error"] or str(cap) in body["error"], body["error"]


# -- the documented way to widen the checks: theoryscope serve --allow-host / --allow-origin ---------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_allow_host_and_allow_origin(store_path, monkeypatch, capsys):
    import uvicorn

    from theoryscope.cli.main import main

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    port = _free_port()
    args = ["serve", "--port", str(port), "--store", str(store_path)]
    extra = ["--allow-host", "lab.example.org", "--allow-host", "*.lan"]
    extra += ["--allow-origin", "https://nb.example.org:8888"]
    assert main(args + extra) == 0
    served, options = calls[0]
    assert options["timeout_keep_alive"] == Limits().keep_alive_s
    assert options["limit_concurrency"] == Limits().max_connections
    with TestClient(served, base_url="http://lab.example.org:8000") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"Host": "box.lan"}).status_code == 200
        assert client.get("/api/health", headers={"Host": "evil.example.com"}).status_code == 400
        for origin, status in [
            ("https://nb.example.org:8888", 200),
            ("http://lab.example.org:8000", 200),  # the lab's own page under its new name
            ("http://box.lan:8000", 403),  # a wildcard host is not an origin
            ("https://evil.example.com", 403),
        ]:
            res = client.post("/api/validate", json={}, headers={"Origin": origin})
            assert res.status_code == status, (origin, res.text)
    capsys.readouterr()
    for flag, value in [("--allow-origin", "ftp://x"), ("--allow-host", "a/b")]:
        assert main([*args, flag, value]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {flag[2:]}:"), err


# -- defect 6: a huge coefficient is a 422, never a hung request ------------------------------------
@pytest.mark.parametrize("coef", [1e308, 1e200])
def test_a_huge_coefficient_is_a_422_not_a_hung_request(client, monkeypatch, coef):
    """A coefficient past the declared bound (|coef| <= 1e3) is refused before any solve; a
    solve that runs out of its evaluation budget is a 422 too (the budget lowered to show it)."""
    from theoryscope.experiments.expander import theory

    config = {"terms": [{"alpha": [1, 1, 0], "coef": coef}]}
    for path, body in (("/api/theory", {"config": config}),
                       ("/api/live", {"config": config, "seed": 0})):  # fmt: skip
        answer = _is_error(client.post(path, json=body), 422, "coef", "allowed")
        assert answer["field"] in ("coef", "config")
    monkeypatch.setattr(theory, "SOLVE_MAX_EVALS", 5)  # the default is 100,000
    # a config no other test solves (theories are cached by config for the whole process)
    fine = {"terms": [{"alpha": [1, 1, 0], "coef": 1.0}], "gamma": [0.0731, 0.0731, 0.0731]}
    _is_error(client.post("/api/theory", json={"config": fine}), 422, "budget", "5 ")
    _is_error(client.post("/api/live", json={"config": fine, "seed": 0}), 422, "budget")
    assert client.get("/api/live").json() == {"runs": []}
    # the server answers the next request at once: no solve is left running
    assert client.post("/api/validate", json={"config": {}}).status_code == 200
