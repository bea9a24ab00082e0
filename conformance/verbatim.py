"""An httpx transport that sends header values exactly as given.

httpx writes HTTP/1.1 through h11, which (rightly, for a client) refuses field values with
leading or trailing whitespace. A server must accept them: RFC 9110 §5.5 says a recipient
excludes that whitespace when it parses the field value. To send such requests, this transport
writes the request with the standard library's `http.client` (which only refuses CR and LF in
a value) and hands the answer back to httpx as a stream, so `TranscriptClient` keeps its
transcript, limits and watch for them too. One connection per request; no pooling.
"""

import http.client
import socket
from collections.abc import Iterator

import httpx

CHUNK_BYTES = 64 * 1024


class _Body(httpx.SyncByteStream):
    """The answer's body, read in chunks; socket errors become httpx's."""

    def __init__(self, response: http.client.HTTPResponse, connection: http.client.HTTPConnection):
        self.response = response
        self.connection = connection

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self.response.read1(CHUNK_BYTES)
            except TimeoutError as exc:
                raise httpx.ReadTimeout(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self.response.close()
        self.connection.close()


class VerbatimTransport(httpx.BaseTransport):
    """Writes each request's headers byte for byte; `timeout` (seconds) per socket operation."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.host, url.port, timeout=self.timeout)
        try:
            connection.putrequest(
                request.method,
                url.raw_path.decode("ascii"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                connection.putheader(name.decode("latin-1"), value.decode("latin-1"))
            connection.endheaders(request.read() or None)
            response = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except (ConnectionRefusedError, socket.gaierror) as exc:
            connection.close()
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise httpx.RemoteProtocolError(
                f"{type(exc).__name__}: {exc}", request=request
            ) from exc
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=_Body(response, connection),
            request=request,
        )
