"""pytest hooks for the integration tests: the figures test modules put in support.SUMMARY are
printed at the end of the run; fixtures shared by several modules."""

import pytest

from support import LOOPBACK_WHEELS, SUMMARY, Servers, pinned_wheel_dir, serve_wheels


@pytest.fixture(scope="module")
def servers():
    """The module's loopback servers (support.Servers), stopped by PID when the module ends."""
    s = Servers()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def loopback_index(servers):
    """A loopback pypiserver serving LOOPBACK_WHEELS (from PyPI once, pinned); its simple URL."""
    return serve_wheels(servers, pinned_wheel_dir("uv-lock-loopback", LOOPBACK_WHEELS))


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)
