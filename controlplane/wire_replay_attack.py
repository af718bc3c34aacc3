"""An attacker on an encrypted flow's wire (run by ferryd_secure_attack_test.sh
inside one host's network namespace, on that host's end of the veth).

It watches the sealed Ferry segments that the local ferryd sends (the test
starts ferryd with qdisc_bypass=0, so that sent frames pass the interface's
taps) and sends the peer, for every segment it picks:
  replay   the same frame again, at once;
  stale    a frame seen at least 4,000 segments ago (beyond the replay
           window of 2048);
  flipped  a copy under a packet number far ahead, with one bit
           flipped in the authenticated part (the Ferry header from its
           sequence number on, the secure header's epoch, the ciphertext
           or the tag), its UDP checksum made right again or left out
           (as engines send sealed segments), so that only the AEAD can
           tell;
  clear    a copy in clear (no Secure flag, no secure header) turned into
           a RST, a FIN or a data segment, checksum right.
Replays and stale frames are exact copies: the peer must count them as
replays. The others are forgeries: the peer must count them as
authentication failures. The flow must not notice.

Usage: wire_replay_attack.py IFACE SECONDS OUT_JSON
Writes what it sent to OUT_JSON: {"replay": N, "stale": N, "flipped": N,
"clear": N, "seen": N}.
"""
import collections
import hashlib
import json
import random
import socket
import struct
import sys
import time

from wire_flood import checksum  # beside this file

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
FERRY_MAGIC = 0x4652
FLAG_SECURE = 0x08
HEADER = 48         # the Ferry header
SECURED = 56        # and the secure header (epoch, 56-bit packet number)
STALE_DISTANCE = 4000


def with_udp(frame, payload, udp_checksum=True):
    """The frame with its UDP payload replaced and every length and
    checksum made right (the UDP checksum 0, "none", if not
    `udp_checksum`: as engines send sealed segments)."""
    ip = bytearray(frame[14:34])
    udp = bytearray(frame[34:42])
    udp_len = 8 + len(payload)
    struct.pack_into("!H", ip, 2, 20 + udp_len)
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, checksum(bytes(ip)))
    struct.pack_into("!HH", udp, 4, udp_len, 0)
    pseudo = bytes(ip[12:20]) + struct.pack("!BBH", 0, 17, udp_len)
    if udp_checksum:
        udp_sum = checksum(pseudo + bytes(udp) + payload) or 0xffff
        struct.pack_into("!H", udp, 6, udp_sum)
    return frame[:14] + bytes(ip) + bytes(udp) + payload


def sealed_payload(frame):
    """The UDP payload of a sealed Ferry segment, or None."""
    if len(frame) < 42 + SECURED + 16 or frame[12:14] != b"\x08\x00":
        return None
    if frame[14] != 0x45 or frame[23] != 17:
        return None
    payload = frame[42:]
    magic, _, _, flags, length = struct.unpack_from("!HBBBB", payload)
    if magic != FERRY_MAGIC or not flags & FLAG_SECURE or length != SECURED:
        return None
    return payload


def flipped(payload, rnd):
    """A forgery the receiver cannot tell by its packet number: a number
    far ahead (2^40 on, which the flow never reaches, so the receiver
    cannot have seen it even when this copy arrives late), and one bit
    flipped from the sequence number (byte 16) on, outside the packet
    number. A copy that kept its number would be refused as a replay
    before its tag is read. Were such a number to move the replay window,
    the flow's own segments would be refused after it."""
    out = bytearray(payload)
    pn = int.from_bytes(out[49:SECURED], "big")
    pn = (pn + (1 << 40) + rnd.randrange(1 << 20)) & ((1 << 56) - 1)
    out[49:SECURED] = pn.to_bytes(7, "big")
    while True:
        at = rnd.randrange(16, len(out))
        if not 49 <= at < SECURED:
            break
    out[at] ^= 1 << rnd.randrange(8)
    return bytes(out)


def in_clear(payload, rnd):
    out = bytearray(payload[:HEADER])
    out[3] = rnd.choice([3, 5, 6])                 # data, FIN or RST
    out[4] = payload[4] & ~FLAG_SECURE & 0xff
    out[5] = HEADER
    body = payload[SECURED:-16]
    if out[3] != 3:
        body = b""
    struct.pack_into("!I", out, 32, len(body))     # message length
    return bytes(out) + body


def main():
    iface, seconds, out_json = sys.argv[1:4]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rnd = random.Random(7)
    sent = {"replay": 0, "stale": 0, "flipped": 0, "clear": 0, "seen": 0}
    # What we sent ourselves comes back through the tap as outgoing: each
    # such frame is skipped once.
    ours = collections.Counter()
    history = collections.deque(maxlen=STALE_DISTANCE + 1)
    end = time.monotonic() + float(seconds)
    step = 0
    while time.monotonic() < end:
        try:
            frame, address = s.recvfrom(65536)
        except socket.timeout:
            continue
        if address[2] != PACKET_OUTGOING:
            continue
        digest = hashlib.blake2b(frame, digest_size=16).digest()
        if ours[digest] > 0:
            ours[digest] -= 1
            continue
        payload = sealed_payload(frame)
        if payload is None:
            continue
        sent["seen"] += 1
        history.append(frame)
        step += 1
        # One attack every few segments: enough to test every path while
        # the flow goes on at speed.
        if step % 4 != 0:
            continue
        kind = ("replay", "stale", "flipped", "clear")[(step // 4) % 4]
        if kind == "replay":
            attack = frame
        elif kind == "stale":
            if len(history) <= STALE_DISTANCE:
                continue
            attack = history[0]
        elif kind == "flipped":
            attack = with_udp(frame, flipped(payload, rnd),
                              udp_checksum=step % 32 < 16)
        else:
            attack = with_udp(frame, in_clear(payload, rnd))
        ours[hashlib.blake2b(attack, digest_size=16).digest()] += 1
        s.send(attack)
        sent[kind] += 1
    with open(out_json, "w") as f:
        json.dump(sent, f)
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
