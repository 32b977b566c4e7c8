"""Finding test counts in what CI produced (check-run output, logs, JUnit XML)."""
