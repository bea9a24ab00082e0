"""Benchmarks of the mock server against Prism and a bare Starlette ceiling (`make bench`)."""
