"""A stateful mock server for the APIs in specs/, driven entirely by the specs."""

import warnings

# connexion imports starlette's test client at import time, which warns about httpx; the mock
# never uses that client, so the warning is noise for every user of `mockserver serve`.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
