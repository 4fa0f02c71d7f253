"""Serving an ASGI app with uvicorn, in one process or several that share the load evenly.

With several processes, uvicorn binds one listening socket and every worker accepts from it: whichever is
awake first takes the new connections. Clients that hold a few long-lived keep-alive connections (a
proxy, Twilio, a load generator) then often land almost all on one worker while the others idle: with
`python -m bench inbound`, nine tenths of the CPU went to one of two workers, whose event loop became
the bottleneck. Here each worker listens on a socket of its own, bound to the same address with
SO_REUSEPORT, and the kernel spreads new connections between them by a hash of each connection's
addresses (Linux lets only processes of the same user join such a group). uvicorn's supervisor still
starts, watches and restarts the workers; the socket it hands each one arrives in the worker as a fresh
listener of its own.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any, TypeVar

import uvicorn
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("uvicorn.error")
_Socket = TypeVar("_Socket", bound=socket.socket)


class _OwnListener(socket.socket):
    """A bound socket that each worker process receives as a new socket bound to the same address."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_bind, (self.family, self.getsockname(), socket.socket))


def _bind(family: socket.AddressFamily, address: Any, kind: type[_Socket]) -> _Socket:
    sock = kind(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def serve(app: str, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve `app` (an import string) on host:port; several workers each listen on their own socket."""
    # Only Linux spreads connections over a SO_REUSEPORT group; elsewhere keep uvicorn's shared socket.
    if workers <= 1 or not sys.platform.startswith("linux"):
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Bound but never listening, it only claims the address (a port taken by another program fails
    # here, at once) and names it to the workers; connections go to the workers' listening sockets.
    try:
        claim = _bind(family, (host, port), _OwnListener)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc)
        raise SystemExit(1) from None
    log.info("serving on http://%s:%d with %d processes (Press CTRL+C to quit)", host, port, workers)
    with claim:
        Multiprocess(config, sockets=[claim]).run()
