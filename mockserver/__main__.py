"""`python -m mockserver`: the `mockserver` command."""

from mockserver.cli import main

main()
