"""Local servers and test support: the pytest plugin, embedded PostgreSQL, Temporal dev and
test servers, the all-in-one dev stack and the test databases.

Nothing outside this package starts a server.
"""
