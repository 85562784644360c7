#!/usr/bin/env python3
"""Clients that send part of a request, or a whole one, and hang up: usage hangups.py PORT.
Sends 200 of them to the server on 127.0.0.1:PORT, then requires that within 3 s it has closed
every one of those connections (none left in CLOSE_WAIT: a server that keeps them until its
timeout runs out of connections after about a thousand such clients) and still answers."""
import socket
import subprocess
import sys
import time
import urllib.request

port = int(sys.argv[1])
requests = [b'POST /v1/messages HTTP/1.1\r\nHost: x\r\n',
            b'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{}',
            b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
            b'\x00\x01 not http\r\n\r\n']


def close_wait():
    out = subprocess.run(['ss', '-tn', 'state', 'close-wait', '( sport = :%d )' % port],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines()[1:] if line.strip())


for i in range(200):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(requests[i % len(requests)])
    s.close()
deadline = time.time() + 3
while close_wait() and time.time() < deadline:
    time.sleep(0.1)
left = close_wait()
with urllib.request.urlopen('http://127.0.0.1:%d/healthz' % port, timeout=10) as r:
    assert r.status == 200
print('hangups: 200 clients hung up, %d connections left in CLOSE_WAIT' % left)
sys.exit(1 if left else 0)
