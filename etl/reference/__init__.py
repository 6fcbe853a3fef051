"""Reference data a province runs on: the registry of hospitals, administrative regions,
map boundaries (packaged and official), and user accounts."""
