import socket

import pytest


def test_non_loopback_connections_are_refused_in_tests():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match="network"):
            s.connect(("192.0.2.1", 80))
    finally:
        s.close()
