"""The preflight: a misconfigured run stops before any requirement, with one sentence and the
request that showed it; a good one learns the sandbox from the control plane."""

from dataclasses import replace
from typing import Any

import pytest

from conformance.limits import NO_ANSWER
from conformance.preflight import (
    CONTROL_SILENT,
    NOT_SERVED,
    TOKEN_REFUSED,
    TOKEN_UNJUDGED,
    UNREACHABLE,
    preflight,
)
from mockserver.app import create_app
from tests.conformance.conftest import Served
from tests.conformance.hostile import Endless, Hang


def _head(template: str) -> str:
    return template.split("{", maxsplit=1)[0]


def test_preflight_good_target_finds_the_sandbox_by_introspection(mock: Served) -> None:
    target, problem = preflight(mock.target("finx"))
    assert problem is None
    assert target.sandbox == "conf"


def test_preflight_explicit_sandbox_is_kept(mock: Served) -> None:
    target, problem = preflight(mock.target("finx", sandbox="elsewhere"))
    assert problem is None and target.sandbox == "elsewhere"


def test_preflight_base_url_without_the_api_prefix_is_not_served(mock: Served) -> None:
    target = replace(mock.target("finx"), base_url=mock.url)
    _, problem = preflight(target)
    assert problem is not None and problem.exchange is not None
    lists = [
        op for op in target.spec.operations.values() if op.method == "GET" and not op.path_param
    ]
    assert problem.message == NOT_SERVED.format(url=mock.url, api="finx", count=len(lists))
    assert problem.exchange.status == 404 and "curl -X GET" in str(problem)


@pytest.mark.parametrize(
    ("option", "field"),
    [("--token", "token"), ("--token-b", "token_b"), ("--admin-token", "admin_token")],
)
def test_preflight_refused_token_is_named(mock: Served, option: str, field: str) -> None:
    _, problem = preflight(mock.target("kontorion", **{field: "refused-key"}))
    assert problem is not None and problem.exchange is not None
    assert problem.message.startswith(_head(TOKEN_REFUSED).replace("{option}", option))
    assert problem.message.startswith(f"the server refused {option} with 401")
    assert "refused-key" not in str(problem)


@pytest.mark.parametrize("path", ["/nope", "/finx"])
def test_preflight_wrong_control_url_cannot_run(mock: Served, path: str) -> None:
    url = mock.url + path
    _, problem = preflight(mock.target("finx", control_url=url))
    assert problem is not None
    assert problem.message.startswith(CONTROL_SILENT.split("(", maxsplit=1)[0].format(url=url))
    assert problem.exchange is not None and problem.exchange.status != 200


def test_preflight_unreachable_server(mock: Served) -> None:
    target = replace(mock.target("finx"), base_url="http://127.0.0.1:9/finx", timeout=2.0)
    _, problem = preflight(target)
    assert problem is not None and problem.message.startswith(_head(UNREACHABLE))


def test_preflight_control_plane_behind_a_control_token(serve: Any) -> None:
    served: Served = serve(create_app(control_token="ctl-secret"))
    target, problem = preflight(served.target("finx", control_token="ctl-secret"))
    assert problem is None and target.sandbox == "conf"
    url = f"{served.url}/__mock"
    _, refused = preflight(served.target("finx"))
    assert refused is not None
    assert refused.message == CONTROL_SILENT.format(url=url, answer=401)


def test_preflight_answer_cut_off_at_a_limit_is_judged_by_its_status(serve: Any) -> None:
    # an endless 200 body: the server accepted the token; the limit is a requirement's matter
    served: Served = serve(Endless(create_app()))
    target, problem = preflight(served.target("kontorion", max_response_bytes=100_000))
    assert problem is None, problem
    assert target.sandbox == "conf"


class _ListsHang:
    """Every list of the API hangs; the rest (the base URL, reads) answers."""

    def __init__(self, app: Any, lists: set[str]):
        self.app, self.lists = app, lists

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.lists:
            await Hang(self.app, scope["method"])(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_preflight_token_without_any_answer_is_not_called_refused(serve: Any) -> None:
    # no list answers in time: the token cannot be judged, and the time limit is the reason
    lists = {"/kontorion/v1/customer-verifications"}
    served: Served = serve(_ListsHang(create_app(), lists))
    _, problem = preflight(served.target("kontorion", timeout=0.3))
    assert problem is not None and problem.exchange is not None
    error = NO_ANSWER.format(kind="ReadTimeout", timeout=0.3)
    assert problem.message == TOKEN_UNJUDGED.format(option="--token", count=1, error=error)
    assert not problem.message.startswith(_head(TOKEN_REFUSED))


class _ListAnswersOnce:
    """The list answers once (a 200 body without end), then never again."""

    def __init__(self, app: Any, path: str):
        self.app, self.path, self.asked = app, path, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            self.asked += 1
            wrapper = Endless(self.app) if self.asked == 1 else Hang(self.app, scope["method"])
            await wrapper(scope, receive, send)
            return
        await self.app(scope, receive, send)


def test_preflight_token_is_judged_by_the_answer_already_had(serve: Any) -> None:
    # the list that showed the spec is served also judges --token: it is not asked again
    app = _ListAnswersOnce(create_app(), "/kontorion/v1/customer-verifications")
    served: Served = serve(app)
    target = served.target("kontorion", token_b=None, admin_token=None, timeout=0.5)
    _, problem = preflight(replace(target, max_response_bytes=100_000))
    assert problem is None, problem
    assert app.asked == 1
