"""The domain layer: everything the platform knows about returns, attribution, ratings,
reference data and the filing month, as functions over a psycopg connection and plain data.

Nothing here imports Flask, app/ or reports/ (the import-linter contract in pyproject.toml
checks it), so the web app, the CLI, the scheduler and the tests call the same functions.
One folder per domain:

- common/       errors, credit codes and periods, amounts, findings, audit log, mail, tables
- returns/      the workbook contract and a return's way in: read, validate, load, versions
- attribution/  mapping versions, 表5 rolled up under the 归集口径, simulation of a new mapping
- ratings/      the indicator registry, thresholds, scoring, and reading ratings back
- reference/    the registry of hospitals, administrative regions, boundaries, accounts
- filing/       the month's workflow: periods and deadlines, review, reminders
- demo/         the deterministic demo province (imported only by app/cli and tests)
"""
