#!/usr/bin/python3
"""Answers every message with itself: python3 echo_server.py PORT"""
import sys

import ferry


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 7000
    with ferry.Channel() as ch:
        ch.listen(port)
        print(f"echo server on {ch.local_ip}:{port}", flush=True)
        while True:
            msg = ch.recv()
            ch.send(msg.flow, msg.data)


if __name__ == "__main__":
    main()
