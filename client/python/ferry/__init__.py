"""Ferry from Python: channels, flows and messages over the C API.

    import ferry

    with ferry.Channel() as ch:                      # a session with ferryd
        flow = ch.connect("10.0.0.2", 7000, timeout=5)
        ch.send(flow, b"hello")
        msg = ch.recv(timeout=1.0)                   # a ferry.Message
        print(msg.data, msg.peer)

A server listens and answers each message on its flow:

    with ferry.Channel() as ch:
        ch.listen(7000)
        while True:
            msg = ch.recv()
            ch.send(msg.flow, msg.data)

Errors are exceptions: OSError subclasses chosen by errno
(ConnectionRefusedError, TimeoutError, BlockingIOError, FileNotFoundError,
...) with the C library's explanation; a send that the engine refused
after queueing it, or a flow that ends while recv waits with events off,
raises ferry.FerryError with the reason. A Channel belongs to one thread
at a time (as in the C API).

The C library is libferryclient.so (//client:libferryclient.so): found
through $FERRY_LIBRARY, next to this package, or on the loader's path.
"""
import ctypes
import ctypes.util
import errno as _errno
import os
import socket as _socket
import struct as _struct
import time as _time
from typing import NamedTuple, Optional, Tuple

MAX_MESSAGE_SIZE = 8 << 20
DEFAULT_SOCKET = "/run/ferry/ferryd.sock"  # ferryd's API socket

_RECV_TRUNCATED = 0x1
_RECV_SEND_ERROR = 0x2
_RECV_FLOW_ACCEPTED = 0x4
_RECV_FLOW_CLOSED = 0x8


class FerryError(Exception):
    """A failure that has no errno of its own: a refused send, an ended
    flow. `status` is the ferry_status value, `flow` the flow it concerns."""

    def __init__(self, message, status=0, flow=0):
        super().__init__(message)
        self.status = status
        self.flow = flow


class Message(NamedTuple):
    flow: int
    data: bytes
    peer: Tuple[str, int]  # the sender's IPv4 address and port
    local_port: int


class Event(NamedTuple):
    kind: str  # "accepted" or "closed"
    flow: int
    peer: Tuple[str, int]
    reason: str  # for "closed": closed, reset, peer stopped answering, ...


class _RecvInfo(ctypes.Structure):
    _fields_ = [("flow", ctypes.c_uint64), ("cookie", ctypes.c_uint64),
                ("length", ctypes.c_uint32), ("status", ctypes.c_uint16),
                ("flags", ctypes.c_uint16)]


class _FlowAddr(ctypes.Structure):
    _fields_ = [("local_ip", ctypes.c_uint32), ("remote_ip", ctypes.c_uint32),
                ("local_port", ctypes.c_uint16),
                ("remote_port", ctypes.c_uint16)]


def _load():
    candidates = []
    if os.environ.get("FERRY_LIBRARY"):
        candidates.append(os.environ["FERRY_LIBRARY"])
    candidates.append(os.path.join(os.path.dirname(__file__),
                                   "libferryclient.so"))
    found = ctypes.util.find_library("ferryclient")
    if found:
        candidates.append(found)
    for path in candidates:
        if os.path.exists(path) or not os.path.isabs(path):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    raise ImportError("libferryclient.so not found: set FERRY_LIBRARY")


_lib = _load()
_ch = ctypes.c_void_p
_lib.ferry_attach.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                              ctypes.POINTER(_ch)]
_lib.ferry_detach.argtypes = [_ch]
_lib.ferry_detach.restype = None
_lib.ferry_listen.argtypes = [_ch, ctypes.c_uint16, ctypes.c_int]
_lib.ferry_unlisten.argtypes = [_ch, ctypes.c_uint16, ctypes.c_int]
_lib.ferry_connect_ex.argtypes = [
    _ch, ctypes.c_uint32, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_int,
    ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(_FlowAddr)]
_lib.ferry_close.argtypes = [_ch, ctypes.c_uint64, ctypes.c_int]
_lib.ferry_send.argtypes = [_ch, ctypes.c_uint64, ctypes.c_void_p,
                            ctypes.c_size_t]
_lib.ferry_recv.argtypes = [_ch, ctypes.c_void_p, ctypes.c_size_t,
                            ctypes.POINTER(_RecvInfo)]
_lib.ferry_recv.restype = ctypes.c_ssize_t
_lib.ferry_recv_wait.argtypes = [_ch, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.POINTER(_RecvInfo), ctypes.c_int]
_lib.ferry_recv_wait.restype = ctypes.c_ssize_t
_lib.ferry_local_ip.argtypes = [_ch]
_lib.ferry_local_ip.restype = ctypes.c_uint32
_lib.ferry_status_name.argtypes = [ctypes.c_uint16]
_lib.ferry_status_name.restype = ctypes.c_char_p


def _ip_to_int(ip: str) -> int:
    try:
        return _struct.unpack("!I", _socket.inet_aton(ip))[0]
    except OSError:
        raise ValueError(f"not an IPv4 address: {ip!r}") from None


def _int_to_ip(value: int) -> str:
    return _socket.inet_ntoa(_struct.pack("!I", value))


def _peer(cookie: int) -> Tuple[str, int]:
    return (_int_to_ip(cookie >> 32), (cookie >> 16) & 0xFFFF)


def _raise(rc: int, what: str):
    code = -rc
    raise OSError(code, f"{what}: {os.strerror(code)}")


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return int(timeout * 1000)


class Channel:
    """A channel to ferryd (one engine), and the flows opened through it."""

    def __init__(self, socket_path: Optional[str] = None):
        path = socket_path or os.environ.get("FERRY_SOCKET",
                                             DEFAULT_SOCKET)
        self._handle = _ch()
        rc = _lib.ferry_attach(path.encode(), None, ctypes.byref(self._handle))
        if rc != 0:
            _raise(rc, f"attaching to ferryd at {path}")
        self._buffer = ctypes.create_string_buffer(MAX_MESSAGE_SIZE)

    def close(self):
        """Detaches: ferryd resets the channel's flows and frees it."""
        if self._handle:
            _lib.ferry_detach(self._handle)
            self._handle = _ch()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _live(self):
        if not self._handle:
            raise ValueError("the channel is closed")
        return self._handle

    @property
    def local_ip(self) -> str:
        """The engine's address (known after listen or connect)."""
        return _int_to_ip(_lib.ferry_local_ip(self._live()))

    def listen(self, port: int, timeout: Optional[float] = 5.0):
        rc = _lib.ferry_listen(self._live(), port, _timeout_ms(timeout))
        if rc != 0:
            _raise(rc, f"listening on port {port}")

    def unlisten(self, port: int, timeout: Optional[float] = 5.0):
        rc = _lib.ferry_unlisten(self._live(), port, _timeout_ms(timeout))
        if rc != 0:
            _raise(rc, f"no longer listening on port {port}")

    def connect(self, ip: str, port: int, timeout: Optional[float] = 5.0,
                local_port: int = 0) -> int:
        """Opens a flow; returns its handle once the handshake is done."""
        flow = ctypes.c_uint64()
        addr = _FlowAddr()
        rc = _lib.ferry_connect_ex(self._live(), _ip_to_int(ip), port,
                                   local_port, _timeout_ms(timeout),
                                   ctypes.byref(flow), ctypes.byref(addr))
        if rc != 0:
            _raise(rc, f"connecting to {ip}:{port}")
        return flow.value

    def close_flow(self, flow: int, timeout: Optional[float] = 5.0):
        """An orderly close after what was sent; a "closed" event follows."""
        rc = _lib.ferry_close(self._live(), flow, _timeout_ms(timeout))
        if rc != 0:
            _raise(rc, f"closing flow {flow}")

    def send(self, flow: int, data, timeout: Optional[float] = 5.0):
        """Queues one message (bytes-like, up to 8 MiB). When the channel is
        full, retries until `timeout` (0: raise BlockingIOError at once)."""
        payload = bytes(data)  # no copy when it already is bytes
        if len(payload) > MAX_MESSAGE_SIZE:
            raise ValueError(f"a message is at most {MAX_MESSAGE_SIZE} bytes")
        pointer = ctypes.cast(ctypes.c_char_p(payload), ctypes.c_void_p)
        deadline = None if timeout is None else _time.monotonic() + timeout
        while True:
            rc = _lib.ferry_send(self._live(), flow, pointer, len(payload))
            if rc == 0:
                return
            if rc != -_errno.EAGAIN:
                _raise(rc, f"sending on flow {flow}")
            if deadline is not None and _time.monotonic() >= deadline:
                _raise(rc, f"sending on flow {flow} (channel full)")
            _time.sleep(0.0002)

    def recv(self, timeout: Optional[float] = None, events: bool = False):
        """The next message (a Message). Waits up to `timeout` seconds
        (None: forever; 0: do not wait) and raises TimeoutError after.

        With events=False, flows accepted by a listener are taken silently
        and a send the engine refused raises FerryError; a flow that ends
        is reported only with events=True, as an Event."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        while True:
            info = _RecvInfo()
            if timeout == 0:
                n = _lib.ferry_recv(self._live(), self._buffer,
                                    MAX_MESSAGE_SIZE, ctypes.byref(info))
            else:
                left = None if deadline is None else \
                    max(0.0, deadline - _time.monotonic())
                n = _lib.ferry_recv_wait(self._live(), self._buffer,
                                         MAX_MESSAGE_SIZE, ctypes.byref(info),
                                         _timeout_ms(left))
            if n in (-_errno.EAGAIN, -_errno.ETIMEDOUT):
                raise TimeoutError(_errno.ETIMEDOUT,
                                   "nothing received in time")
            if n < 0:
                _raise(n, "receiving")
            if info.flags & _RECV_SEND_ERROR:
                name = _lib.ferry_status_name(info.status).decode()
                raise FerryError(f"a send on flow {info.flow} failed: {name}",
                                 info.status, info.flow)
            if info.flags & (_RECV_FLOW_ACCEPTED | _RECV_FLOW_CLOSED):
                if not events:
                    continue
                closed = bool(info.flags & _RECV_FLOW_CLOSED)
                reason = _lib.ferry_status_name(info.status).decode() \
                    if closed else ""
                return Event("closed" if closed else "accepted", info.flow,
                             _peer(info.cookie), reason)
            if info.flags & _RECV_TRUNCATED:
                raise FerryError("a message larger than 8 MiB", 0, info.flow)
            return Message(info.flow, ctypes.string_at(self._buffer, n),
                           _peer(info.cookie), info.cookie & 0xFFFF)
