"""A `via.proxy_command` for tests: stdin/stdout become a TCP stream to HOST PORT (like `ssh -W`).

Usage: relay.py HOST PORT. The end of stdin half-closes the connection; the end of the connection
ends the program.
"""
import socket
import sys
import threading

sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))


def pump_in():
    while True:
        data = sys.stdin.buffer.read1(65536)
        if not data:
            break
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)


threading.Thread(target=pump_in, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
