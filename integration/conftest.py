"""pytest hooks for the integration tests: the figures test modules put in support.SUMMARY are
printed at the end of the run."""

from support import SUMMARY


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)
