"""The audience simulator: synthetic viewers that drive a running server over its public
HTTP API and room WebSocket only (no import of the server's database or services), for
demos, rehearsals and load. A scenario can plant a truth (an interaction dip, a churning
cohort) and the run reports what it actually sent, so the server's figures can be checked.
"""
