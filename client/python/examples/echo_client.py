#!/usr/bin/python3
"""Sends a greeting and prints the echo: python3 echo_client.py IP PORT"""
import sys

import ferry


def main():
    ip, port = sys.argv[1], int(sys.argv[2])
    with ferry.Channel() as ch:
        flow = ch.connect(ip, port)
        ch.send(flow, b"hello from python")
        reply = ch.recv(timeout=5)
        print(f"{reply.peer[0]}:{reply.peer[1]} answered {reply.data!r}")
        ch.close_flow(flow)


if __name__ == "__main__":
    main()
