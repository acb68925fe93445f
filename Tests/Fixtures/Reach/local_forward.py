"""A `via.local_forward` for tests: listens on 127.0.0.1:LOCAL and forwards each connection to
HOST PORT (like `coder port-forward --tcp LOCAL:PORT`). Runs until killed.

Usage: local_forward.py LOCAL HOST PORT
"""
import socket
import sys
import threading

local, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def pipe(src, dst):
    while True:
        data = src.recv(65536)
        if not data:
            break
        dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    upstream = socket.create_connection((host, port))
    back = threading.Thread(target=pipe, args=(upstream, client))
    back.start()
    pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", local))
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
