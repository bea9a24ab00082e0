"""Reason phrases as RFC 9110 section 15 names them, whatever Python's version.

Python before 3.13 still gives a few statuses their older names (`http.HTTPStatus`: 413
"Request Entity Too Large", 414 "Request-URI Too Long", 416 "Requested Range Not
Satisfiable", 422 "Unprocessable Entity"); the mock's error envelopes (`$title`) and uvicorn's
status lines use these instead. Granian writes its own status line (README, "HTTP servers").
"""

from http import HTTPStatus

RFC_9110_NAMES = {
    413: "Content Too Large",  # RFC 9110 section 15.5.14
    414: "URI Too Long",  # 15.5.15
    416: "Range Not Satisfiable",  # 15.5.17
    422: "Unprocessable Content",  # 15.5.21
}


def reason(status: int) -> str:
    """The reason phrase of `status` (100-599); "" for a status nothing names."""
    named = RFC_9110_NAMES.get(status)
    if named is not None:
        return named
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
