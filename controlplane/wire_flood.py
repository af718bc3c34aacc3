"""Forged Ferry segments from a raw socket (run inside the peer's network
namespace by wire_flood_test.sh): SYNs at a listener from random addresses
of the subnet, and RSTs and FINs with random sequence and ack numbers at an
established flow whose addresses, ports and flow ids the attacker knows.

Usage: wire_flood.py IFACE SRC_MAC DST_MAC DST_IP SUBNET_PREFIX LISTEN_PORT
                     PEER_IP PEER_PORT FLOW_PORT FLOW_ID PEER_FLOW_ID
                     SYNS RSTS_AND_FINS SECONDS
Spread over at least SECONDS, so that other traffic meets the flood.
"""
import os
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def ferry_header(kind, flags, src_flow, dst_flow, seq, ack):
    # magic, version, type, flags, header length, reserved, src, dst, seq,
    # ack, sack, message length, window, timestamp, echoed timestamp
    return struct.pack("!HBBBBHIIIIQIIII", 0x4652, 1, kind, flags, 48, 0,
                       src_flow, dst_flow, seq, ack, 0, 0, 64, 0, 0)


def frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload,
          udp_checksum=True):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) + \
        struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp_sum = (checksum(pseudo + udp) or 0xffff) if udp_checksum else 0
    udp = udp[:6] + struct.pack("!H", udp_sum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len,
                     random.randrange(1 << 16), 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def main():
    (iface, src_mac, dst_mac, dst_ip, subnet, listen_port, peer_ip,
     peer_port, flow_port, flow_id, peer_flow_id, syns,
     rsts, seconds) = sys.argv[1:15]
    src_mac = bytes.fromhex(src_mac.replace(":", ""))
    dst_mac = bytes.fromhex(dst_mac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = {"syn": 0, "rst": 0, "fin": 0, "unchecked": 0}
    rnd = random.Random(os.getpid())
    plan = ["syn"] * int(syns) + ["rst"] * (int(rsts) // 2) + \
        ["fin"] * (int(rsts) - int(rsts) // 2) + \
        ["unchecked"] * (int(rsts) // 10)
    rnd.shuffle(plan)
    start = time.monotonic()
    pace = float(seconds) / len(plan)
    for i, kind in enumerate(plan):
        # Pace every 100 frames: a burst of 1,000 fills the receiving veth's
        # backlog (netdev_max_backlog) and ferryd's 512-frame af_packet ring,
        # and the kernel drops frames before ferryd can count them.
        if i % 100 == 0:
            ahead = start + i * pace - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if kind == "syn":
            src_ip = f"{subnet}.{rnd.randrange(3, 250)}"
            payload = ferry_header(1, 0, rnd.randrange(1, 1 << 32), 0,
                                   rnd.randrange(1 << 32), 0)
            data = frame(src_mac, dst_mac, src_ip, dst_ip,
                         rnd.randrange(1024, 65536), int(listen_port), payload)
        else:
            # "unchecked": a RST with UDP checksum 0 (none computed).
            payload = ferry_header(5 if kind == "fin" else 6,
                                   0, int(peer_flow_id), int(flow_id),
                                   rnd.randrange(1 << 32),
                                   rnd.randrange(1 << 32))
            data = frame(src_mac, dst_mac, peer_ip, dst_ip, int(peer_port),
                         int(flow_port), payload,
                         udp_checksum=kind != "unchecked")
        while True:
            try:
                s.send(data)
                break
            except BlockingIOError:
                pass
            except OSError as error:  # ENOBUFS: the queue is full, retry
                if error.errno != 105:
                    raise
        sent[kind] += 1
    print(f"sent {sent['syn']} SYNs, {sent['rst']} RSTs, {sent['fin']} FINs, "
          f"{sent['unchecked']} RSTs without a UDP checksum")


if __name__ == "__main__":
    main()
