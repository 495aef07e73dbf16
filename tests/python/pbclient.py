"""A deliberately tiny protobuf-mode TWS API client (server versions 213..226, as `ibapi` 5.x
speaks it): handshake, startApi, reqPositions, and a hand-rolled protobuf wire decoder.
Enough to check that protobuf and text clients share one simulated world."""

from __future__ import annotations

import socket
import struct

START_API = 71 + 200
REQ_POSITIONS = 61 + 200
POSITION = 61 + 200
POSITION_END = 62 + 200
NEXT_VALID_ID = 9 + 200
MANAGED_ACCOUNTS = 15 + 200
ERROR = 4 + 200


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def parse(buf: bytes) -> dict[int, list]:
    """Protobuf message -> {field number: [raw values]} (ints, bytes, or 8/4-byte blobs)."""
    fields: dict[int, list] = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 1:
            v, i = buf[i : i + 8], i + 8
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i : i + n], i + n
        elif wt == 5:
            v, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        fields.setdefault(num, []).append(v)
    return fields


class ProtoClient:
    def __init__(self, host: str, port: int, client_id: int, timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(b"API\0" + self._frame(b"v213..226"))
        hello = self._read_frame().split(b"\0")
        self.server_version = int(hello[0])
        payload = b"\x08" + varint(client_id) + b"\x12\x00"
        self.send(START_API, payload)
        self.accounts: list[str] = []
        self.next_id = None
        while not (self.accounts and self.next_id is not None):
            msg_id, body = self.read()
            f = parse(body)
            if msg_id == MANAGED_ACCOUNTS:
                self.accounts = f[1][0].decode().split(",")
            elif msg_id == NEXT_VALID_ID:
                self.next_id = f[1][0]

    @staticmethod
    def _frame(body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + body

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return data

    def _read_frame(self) -> bytes:
        (n,) = struct.unpack(">I", self._recv_exact(4))
        return self._recv_exact(n)

    def send(self, msg_id: int, payload: bytes = b"") -> None:
        self.sock.sendall(self._frame(struct.pack(">i", msg_id) + payload))

    def read(self) -> tuple[int, bytes]:
        frame = self._read_frame()
        (msg_id,) = struct.unpack(">i", frame[:4])
        return msg_id, frame[4:]

    def positions(self, until_end: bool = True) -> dict[int, float]:
        """Read Position messages (until PositionEnd when `until_end`, else one message)."""
        out: dict[int, float] = {}
        while True:
            msg_id, body = self.read()
            if msg_id == POSITION:
                f = parse(body)
                contract = parse(f[2][0])
                con_id = contract[1][0]
                out[con_id] = float(f[3][0].decode()) if 3 in f else 0.0
                if not until_end:
                    return out
            elif msg_id == POSITION_END and until_end:
                return out

    def close(self) -> None:
        self.sock.close()
