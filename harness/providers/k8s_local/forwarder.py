"""Forward 127.0.0.1:PORT of the host to the API server inside the control plane's namespace.

The host has no route into 198.18.0.0/15 (and gets none): this process binds its listening socket
in the host's namespace first, then enters the control plane's network namespace, so every
connection it opens from then on starts there. Stdlib only.

Usage: forwarder.py NETNS_PATH TARGET_HOST TARGET_PORT PORT_FILE
"""
from __future__ import annotations

import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        conn.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
    pipe(conn, upstream)


def main(netns: str, host: str, port: str, port_file: str) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(netns) as fh:
        if ctypes.CDLL(None, use_errno=True).setns(fh.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({netns}) failed")
    with open(port_file + ".tmp", "w") as fh:
        fh.write(str(listener.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, (host, int(port))), daemon=True).start()


if __name__ == "__main__":
    main(*sys.argv[1:5])
