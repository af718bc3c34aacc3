"""The Python binding over two ferryd (started by python_binding_test.sh):
host A's channel socket in $FERRY_SOCKET_A, host B's in $FERRY_SOCKET_B,
B's address in $FERRY_HOST_B."""
import errno
import os
import random
import threading

import pytest

import ferry

SOCKET_A = os.environ["FERRY_SOCKET_A"]
SOCKET_B = os.environ["FERRY_SOCKET_B"]
HOST_B = os.environ["FERRY_HOST_B"]
ECHO_PORT = 7000


@pytest.fixture(scope="module")
def echo_server():
    """An echo server on host B, in a thread with its own channel."""
    stop = threading.Event()
    ready = threading.Event()

    def serve():
        with ferry.Channel(SOCKET_B) as ch:
            ch.listen(ECHO_PORT)
            ready.set()
            while not stop.is_set():
                try:
                    msg = ch.recv(timeout=0.2)
                except TimeoutError:
                    continue
                ch.send(msg.flow, msg.data, timeout=30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10), "the echo server did not start"
    yield
    stop.set()
    thread.join(10)


def test_echo(echo_server):
    with ferry.Channel(SOCKET_A) as ch:
        flow = ch.connect(HOST_B, ECHO_PORT)
        ch.send(flow, b"hello")
        reply = ch.recv(timeout=10)
        assert reply.data == b"hello"
        assert reply.flow == flow
        assert reply.peer == (HOST_B, ECHO_PORT)
        assert ch.local_ip != "0.0.0.0"


@pytest.mark.parametrize("size", [1, 4096, 4097, 1 << 20, 8 << 20])
def test_messages_up_to_8_mib_are_byte_exact(echo_server, size):
    data = random.Random(size).randbytes(size)
    with ferry.Channel(SOCKET_A) as ch:
        flow = ch.connect(HOST_B, ECHO_PORT)
        ch.send(flow, data, timeout=30)
        reply = ch.recv(timeout=60)
        assert len(reply.data) == size
        assert reply.data == data


def test_receive_timeout():
    with ferry.Channel(SOCKET_A) as ch:
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.1)
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0)


def test_errors_are_exceptions_with_the_reason(echo_server):
    with ferry.Channel(SOCKET_A) as ch:
        with pytest.raises(ConnectionRefusedError, match="refused"):
            ch.connect(HOST_B, 9)
        with pytest.raises(ValueError, match="IPv4"):
            ch.connect("10.0.0.300", 9)
        with pytest.raises(ValueError, match="at most"):
            ch.send(1, b"x" * ((8 << 20) + 1))
        # A send on a flow that does not exist is refused by the engine;
        # the next receive says so.
        ch.send(123456, b"nobody")
        with pytest.raises(ferry.FerryError, match="unknown flow") as failure:
            ch.recv(timeout=5)
        assert failure.value.flow == 123456
    with ferry.Channel(SOCKET_B) as other:
        with pytest.raises(OSError) as taken:
            other.listen(ECHO_PORT)
        assert taken.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError, match="attaching to ferryd at /nonexistent"):
        ferry.Channel("/nonexistent/ferryd.sock")


def test_flow_events():
    with ferry.Channel(SOCKET_B) as server, ferry.Channel(SOCKET_A) as client:
        server.listen(7100)
        flow = client.connect(HOST_B, 7100)
        accepted = server.recv(timeout=10, events=True)
        assert accepted.kind == "accepted"
        assert accepted.peer[0] == client.local_ip
        client.close_flow(flow)
        closed = server.recv(timeout=10, events=True)
        assert (closed.kind, closed.flow, closed.reason) == (
            "closed", accepted.flow, "closed")
