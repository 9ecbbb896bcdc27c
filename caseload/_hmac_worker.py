"""Keyed hashes of whole-number ids in a separate process (used by :mod:`caseload.privacy`).

Hashing hundreds of thousands of ids is a Python-level loop that holds the GIL;
in a thread it slows the loader's numpy work down by about as much time as it
takes. A child process (``python -m caseload._hmac_worker``) does the loop on the
other core instead. It imports only the standard library, so it starts in a few
tens of milliseconds, and it is started with :mod:`subprocess` rather than
:mod:`multiprocessing`, so the user's ``__main__`` module is never re-imported.

Protocol on stdin/stdout (all integers unsigned 64-bit little-endian):

* once: the child writes :data:`HELLO`; the parent sends key length, key bytes;
* per job: prefix length, prefix bytes, hex length ``L``, count ``n``, then ``n``
  signed 64-bit ids; the answer is ``n * L`` ASCII bytes: the first ``L`` hex
  characters of ``HMAC-SHA256(key, prefix + str(id))`` of each id, in order.

A job with ``n == 0`` and ``L == 0`` ends the worker.
"""

from __future__ import annotations

import struct
import sys
from array import array
from hashlib import sha256

_Q = struct.Struct("<Q")


def hmac_states(key: bytes, prefix: bytes):
    """The SHA-256 states after HMAC's inner (with ``prefix``) and outer padded-key blocks."""
    block = 64
    if len(key) > block:
        key = sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + prefix)
    outer = sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def hex_digests(key: bytes, prefix: bytes, messages, length: int) -> bytes:
    """``b"".join(hmac(key, prefix + m).hexdigest()[:length] for m in messages)`` (messages as bytes;
    ``length`` even)."""
    inner, outer = hmac_states(key, prefix)
    icopy, ocopy = inner.copy, outer.copy
    nbytes = (length + 1) // 2
    parts = []
    append = parts.append
    for m in messages:
        i = icopy()
        i.update(m)
        o = ocopy()
        o.update(i.digest())
        append(o.digest()[:nbytes])
    return b"".join(parts).hex().encode("ascii")


def _read(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the parent process closed the pipe")
    return data


#: Written first, so the parent knows that nothing else (a site hook, say) writes to the pipe.
HELLO = b"caseload-hmac-worker 1\n"


def main() -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    out.write(HELLO)
    out.flush()
    key = _read(inp, _Q.unpack(_read(inp, 8))[0])
    while True:
        prefix = _read(inp, _Q.unpack(_read(inp, 8))[0])
        length = _Q.unpack(_read(inp, 8))[0]
        n = _Q.unpack(_read(inp, 8))[0]
        if n == 0 and length == 0:
            return
        ids = array("q")
        ids.frombytes(_read(inp, 8 * n))
        out.write(hex_digests(key, prefix, (b"%d" % i for i in ids), length))
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
