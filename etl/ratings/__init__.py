"""Ratings: the indicator registry (one definition per indicator), thresholds and their
versions, scoring (indicators and red/yellow/green per domain, set-based in SQL) and the read
side the pages, exports and the bulletin share (`overview`)."""
