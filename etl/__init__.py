"""The return pipeline: read → validate → attribute → load → score, and the registry.

Stages take a psycopg connection and plain data; nothing here imports Flask, so the web
app, the CLI, the scheduler and the tests call the same functions.
"""
