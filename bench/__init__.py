"""The benchmark: seeds synthetic listings, drives the real server with wrk, prints a table (see README.md)."""
