"""The preflight: a misconfigured run stops before any requirement, with one sentence and the
request that showed it; a good one learns the sandbox from the control plane."""

from dataclasses import replace
from typing import Any

import pytest

from conformance.limits import NO_ANSWER
from conformance.preflight import (
    ACCOUNTS_UNPROBED,
    ADMIN_NOT_ADMIN,
    ADMIN_OTHER_ACCOUNT,
    ADMIN_ROLE_UNPROBED,
    CONTROL_SILENT,
    NOT_SERVED,
    TOKEN_B_SAME_ACCOUNT,
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
    target, problem, _ = preflight(mock.target("finx"))
    assert problem is None
    assert target.sandbox == "conf"


def test_preflight_explicit_sandbox_is_kept(mock: Served) -> None:
    target, problem, _ = preflight(mock.target("finx", sandbox="elsewhere"))
    assert problem is None and target.sandbox == "elsewhere"


def test_preflight_base_url_without_the_api_prefix_is_not_served(mock: Served) -> None:
    target = replace(mock.target("finx"), base_url=mock.url)
    _, problem, _ = preflight(target)
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
    _, problem, _ = preflight(mock.target("kontorion", **{field: "refused-key"}))
    assert problem is not None and problem.exchange is not None
    assert problem.message.startswith(_head(TOKEN_REFUSED).replace("{option}", option))
    assert problem.message.startswith(f"the server refused {option} with 401")
    assert "refused-key" not in str(problem)


@pytest.mark.parametrize("path", ["/nope", "/finx"])
def test_preflight_wrong_control_url_cannot_run(mock: Served, path: str) -> None:
    url = mock.url + path
    _, problem, _ = preflight(mock.target("finx", control_url=url))
    assert problem is not None
    assert problem.message.startswith(CONTROL_SILENT.split("(", maxsplit=1)[0].format(url=url))
    assert problem.exchange is not None and problem.exchange.status != 200


def test_preflight_unreachable_server(mock: Served) -> None:
    target = replace(mock.target("finx"), base_url="http://127.0.0.1:9/finx", timeout=2.0)
    _, problem, _ = preflight(target)
    assert problem is not None and problem.message.startswith(_head(UNREACHABLE))


def test_preflight_control_plane_behind_a_control_token(serve: Any) -> None:
    served: Served = serve(create_app(control_token="ctl-secret"))
    target, problem, _ = preflight(served.target("finx", control_token="ctl-secret"))
    assert problem is None and target.sandbox == "conf"
    url = f"{served.url}/__mock"
    _, refused, _ = preflight(served.target("finx"))
    assert refused is not None
    assert refused.message == CONTROL_SILENT.format(url=url, answer=401)


def test_preflight_answer_cut_off_at_a_limit_is_judged_by_its_status(serve: Any) -> None:
    # an endless 200 body: the server accepted the token; the limit is a requirement's matter
    served: Served = serve(Endless(create_app()))
    target, problem, _ = preflight(served.target("kontorion", max_response_bytes=100_000))
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
    _, problem, _ = preflight(served.target("kontorion", timeout=0.3))
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
    _, problem, _ = preflight(replace(target, max_response_bytes=100_000))
    assert problem is None, problem
    assert app.asked == 1


APIS = ("finx", "kontorion", "finhub")
# A key in the wrong role, per flag: the preflight's message for it, and the specs that let the
# preflight tell (FinX declares no admin-only operation, so a user key as --admin-token is a
# note there, not a refusal).
MISASSIGNED = [
    ("token_b", "test_conf", TOKEN_B_SAME_ACCOUNT, APIS),
    ("token_b", "admin_conf", TOKEN_B_SAME_ACCOUNT, APIS),
    ("admin_token", "admin_other", ADMIN_OTHER_ACCOUNT, APIS),
    ("admin_token", "test_conf", ADMIN_NOT_ADMIN, ("kontorion", "finhub")),
]


@pytest.mark.parametrize("control", [True, False], ids=["control-plane", "spec-only"])
@pytest.mark.parametrize(
    ("api", "field", "key", "template"),
    [(api, f, k, t) for f, k, t, apis in MISASSIGNED for api in apis],
)
def test_preflight_key_in_the_wrong_role_is_named(
    mock: Served, api: str, field: str, key: str, template: str, control: bool
) -> None:
    target = mock.target(api, **{field: key})
    if not control:
        target = replace(target, control_url=None)
    _, problem, _ = preflight(target)
    assert problem is not None and problem.exchange is not None
    assert problem.message.startswith(_head(template))
    assert key not in str(problem)


@pytest.mark.parametrize("api", APIS)
def test_preflight_keys_in_their_roles_pass(mock: Served, api: str) -> None:
    _, problem, notes = preflight(mock.target(api))
    assert problem is None
    assert notes == ((ADMIN_ROLE_UNPROBED,) if api == "finx" else ())


def test_preflight_user_key_as_admin_is_a_note_when_no_operation_is_admin_only(
    mock: Served,
) -> None:
    _, problem, notes = preflight(mock.target("finx", admin_token="test_conf"))
    assert problem is None and notes == (ADMIN_ROLE_UNPROBED,)


def test_preflight_server_mixing_accounts_up_is_left_to_the_requirements(
    broken: Served,
) -> None:
    """The control plane knows --token-b's sandbox: a server showing it --token's record is at
    fault (accounts_isolated fails it), not the key."""
    broken.app.mode = "leak"
    _, problem, notes = preflight(broken.target("finx"))
    assert problem is None and notes == (ADMIN_ROLE_UNPROBED,)
    _, problem, _ = preflight(replace(broken.target("finx"), control_url=None))
    assert problem is not None and problem.message.startswith(_head(TOKEN_B_SAME_ACCOUNT))


def test_preflight_server_that_knows_no_keys_leaves_the_roles_unchecked(broken: Served) -> None:
    broken.app.mode = "no_auth"
    _, problem, notes = preflight(broken.target("kontorion", control_url=None))
    assert problem is None
    assert len(notes) == 1 and notes[0].startswith(_head(ACCOUNTS_UNPROBED))
