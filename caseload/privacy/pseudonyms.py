"""Keyed pseudonyms: the key file and HMAC-SHA256 pseudonyms of client and dossier numbers."""

from __future__ import annotations

import os
import secrets
import stat
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from caseload._hmac_worker import hmac_states
from caseload.errors import PrivacyError

#: Environment variable holding the pseudonym key (takes precedence over any key file).
KEY_ENV = "CASELOAD_PSEUDONYM_KEY"
#: Length of a pseudonym in hex characters (80 bits).
PSEUDONYM_LENGTH = 20

# --------------------------------------------------------------------------- key


def default_key_file() -> Path:
    """Where the pseudonym key lives unless configured otherwise.

    ``$XDG_CONFIG_HOME/caseload/pseudonym.key``, falling back to
    ``~/.config/caseload/pseudonym.key``.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "caseload" / "pseudonym.key"


def _git_work_tree(path: Path) -> Path | None:
    """The enclosing git work tree of ``path`` (a folder with ``.git``), or None."""
    for folder in [path, *path.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def load_key(key_file: str | Path | None = None) -> bytes:
    """The secret key for :func:`pseudonymize`.

    Looked up in this order:

    1. the environment variable ``CASELOAD_PSEUDONYM_KEY`` (any text, used as its
       UTF-8 bytes without surrounding whitespace) -- the way to pass the key to a
       scheduled batch run;
    2. ``key_file`` (e.g. ``[privacy] key_file`` from the config);
    3. the default file ``$XDG_CONFIG_HOME/caseload/pseudonym.key``
       (``~/.config/caseload/pseudonym.key``).

    A key file holds the key as text (surrounding whitespace ignored), so copying the
    file's content into ``CASELOAD_PSEUDONYM_KEY`` gives the same pseudonyms. If the
    file does not exist it is created with 32 random bytes (64 hex characters),
    readable by the owner only, and a :class:`UserWarning` says where it is.

    Parameters
    ----------
    key_file : str or Path, optional
        Key file to use instead of the default location.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    PrivacyError
        The key file lies inside a git work tree (a key must never be committed:
        anyone with the repository could then re-identify clients), or the key is
        empty. A key file that other users can read gives a warning.

    Notes
    -----
    Keep the key: the same key is needed to give the same client the same pseudonym in
    next month's extract. If it is lost, new pseudonyms differ from the old ones and
    results cannot be linked to earlier runs (nothing can be recovered; there is no
    table from pseudonym to client number). Back the file up in the place where the
    municipality keeps other secrets, never in the project repository.
    """
    env = os.environ.get(KEY_ENV)
    if env is not None:
        if not env.strip():
            # A blank variable is a broken batch set-up; silently falling back to a key
            # file could start a new series of pseudonyms.
            raise PrivacyError(
                f"the environment variable {KEY_ENV} is set but empty.",
                fix=f"put the key in it, or unset it to use the key file "
                f"({default_key_file()}).",
            )
        return env.strip().encode("utf-8")

    path = Path(key_file).expanduser() if key_file is not None else default_key_file()
    path = path.absolute()
    repo = _git_work_tree(path.parent)
    if repo is not None:
        raise PrivacyError(
            f"the pseudonym key file lies inside the git work tree '{repo}'; a key must "
            "never be committed, because anyone with the repository could then link "
            "pseudonyms back to client numbers.",
            file=path,
            fix=f"keep the key outside the repository (default {default_key_file()}), "
            f"or pass it in the environment variable {KEY_ENV}.",
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create with owner-only permissions from the start (no window where it is readable).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        warnings.warn(
            f"caseload created a new pseudonym key in '{path}'. Keep this file (and back "
            "it up outside the project): the same key is needed to keep pseudonyms stable "
            "across monthly extracts; with a new key every client gets a new pseudonym. "
            f"For batch runs, pass its content in the environment variable {KEY_ENV}.",
            UserWarning,
            stacklevel=2,
        )
    elif os.name == "posix" and path.stat().st_mode & 0o077:
        warnings.warn(
            f"the pseudonym key file '{path}' can be read by other users; "
            f"restrict it with: chmod 600 '{path}'.",
            UserWarning,
            stacklevel=2,
        )
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PrivacyError(
            f"cannot read the pseudonym key: {exc.strerror}.",
            file=path,
            fix="check the file permissions, or set the environment variable " + KEY_ENV + ".",
        ) from exc
    if not text:
        raise PrivacyError(
            "the pseudonym key file is empty.",
            file=path,
            fix="restore the key from its backup; delete the file only if you accept that "
            "all pseudonyms change.",
        )
    return text.encode("utf-8")


# --------------------------------------------------------------------- pseudonyms


def normalise_id(v) -> str | None:
    """Canonical text of one id: stripped; numeric ids without leading zeros; blank -> None."""
    if isinstance(v, float | np.floating):
        # A float from an Excel export (123.0) is the same client number as 123.
        v = str(int(v)) if np.isfinite(v) and float(v).is_integer() else str(v)
    elif not isinstance(v, str):
        v = str(v)
    v = v.strip()
    head, dot, tail = v.partition(".")
    if dot and tail and head.isascii() and head.isdigit() and tail.strip("0") == "":
        v = head
    if v.isascii() and v.isdigit():
        return v.lstrip("0") or "0"
    if v[:1] in "+-" and v[1:].isascii() and v[1:].isdigit():
        return str(int(v))  # a signed whole number: as the number it is (+0123 is 123)
    return v or None


def _normalised_uniques(uniques) -> list:
    """`normalise_id` of each distinct value from ``pd.factorize``."""
    dtype = getattr(uniques, "dtype", np.dtype(object))
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # Integers have no whitespace or leading zeros: their decimal text is canonical.
        return np.asarray(uniques).astype(str).tolist()
    return [normalise_id(v) for v in np.asarray(uniques, dtype=object).tolist()]


def _hmac_sha256_hex(key: bytes, prefix: bytes, messages: list, length: int) -> list:
    """``hmac.new(key, prefix + m, sha256).hexdigest()[:length]`` for many messages.

    HMAC (RFC 2104) with the padded-key states computed once and copied per message:
    about twice as fast as calling :func:`hmac.digest` per value. The test suite checks
    the result against :mod:`hmac`.
    """
    inner, outer = hmac_states(key, prefix)
    nbytes = (length + 1) // 2
    out = []
    for m in messages:
        if m is None:
            out.append(None)
            continue
        i = inner.copy()
        i.update(m.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        out.append(o.digest()[:nbytes].hex()[:length])
    return out


def pseudonymize(values, key: bytes, domain: str = "client") -> pd.Series:
    """Keyed pseudonyms for client, dossier or other personal numbers.

    ``pseudonym = hex(HMAC-SHA256(key, domain + ":" + normalised value))[:20]``

    The value is normalised first, so pseudonyms are stable across extracts whose
    exports format numbers differently: surrounding whitespace is removed, and purely
    numeric ids lose their leading zeros and a plus sign (``"000123"``, ``"+123"``, ``"123"``,
    ``123`` and ``123.0`` are the same client number). Other text is used as is (case-sensitive).

    Parameters
    ----------
    values : Series, Index, array-like
        Client numbers, BSNs, dossier numbers (strings, integers or integral floats).
    key : bytes
        Secret key from :func:`load_key`.
    domain : str, default "client"
        What kind of number this is (``"client"``, ``"dossier"``...). The same number
        gets a different pseudonym in another domain, so a dossier number that happens
        to equal a client number does not link the two.

    Returns
    -------
    Series of dtype "string"
        Pseudonyms of 20 lower-case hex characters; missing or blank values stay
        missing. The index is that of ``values`` if it is a Series.

    Notes
    -----
    *Why a keyed hash.* A plain hash of a 9-digit number can be reversed by hashing all
    10^9 candidates (minutes on a laptop); with a secret key that is impossible without
    the key. HMAC is the standard construction for this (RFC 2104).

    *Why 20 hex characters.* 80 bits. By the birthday bound the chance that any two of
    ``n`` distinct clients share a pseudonym is about ``n**2 / 2**81``: for one million
    clients ``1e12 / 2.4e24 = 4e-13``, negligible even for all Dutch benefit recipients
    over many years, while the column stays short enough to read.

    *Speed.* Each distinct value is normalised and hashed once (``pd.factorize``), then
    mapped back to the rows: 5 million rows with 500,000 clients take about 1.5 s as
    text and 0.7 s as integers (2-core machine; most of it ``pd.factorize`` and the
    500,000 HMACs).

    Examples
    --------
    >>> key = b"example key - use load_key()"
    >>> p = pseudonymize(["000123", " 123", 123, None], key)
    >>> p.iloc[0] == p.iloc[1] == p.iloc[2], bool(p.isna().iloc[3])
    (True, True)
    >>> len(p.iloc[0])
    20
    """
    if not isinstance(key, bytes | bytearray) or not key:
        raise PrivacyError(
            "the pseudonym key must be non-empty bytes.",
            value=type(key).__name__,
            fix="get the key with caseload.privacy.load_key().",
        )
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.Series | pd.Index):
        arr = values
    else:
        arr = pd.Series(list(values) if not isinstance(values, np.ndarray) else values)
        if arr.dtype == object:
            arr = arr.infer_objects()
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    prefix = domain.encode("utf-8") + b":"
    hashes = _hmac_sha256_hex(bytes(key), prefix, _normalised_uniques(uniques), PSEUDONYM_LENGTH)
    out = pd.array(np.array(hashes, dtype=object), dtype="string").take(codes, allow_fill=True)
    return pd.Series(out, index=index, name=getattr(values, "name", None), dtype="string")


# --------------------------------------------------------------------------- hashing in a second process


class _HashChild:
    """One ``python -m caseload._hmac_worker`` process and the thread that talks to it."""

    def __init__(self, key: bytes):
        import subprocess
        import sys
        from concurrent.futures import ThreadPoolExecutor

        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseload-hash")
        self.greeted = False
        if getattr(sys, "frozen", False):  # a bundled application: sys.executable is not Python
            self.proc = None
            return
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "caseload._hmac_worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL)
            self.send(len(key).to_bytes(8, "little") + key)
        except OSError:
            self.proc = None

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def hash(self, ids: np.ndarray, prefix: bytes, length: int) -> bytes | None:
        """The hex pseudonyms of ``ids`` as one ASCII string, or None if the child failed."""
        from caseload._hmac_worker import HELLO

        n = len(ids)
        proc = self.proc  # stop() may drop it from another thread meanwhile
        if proc is None:
            return None
        try:
            if not self.greeted:  # anything else on the pipe first: do not trust it
                if proc.stdout.read(len(HELLO)) != HELLO:
                    raise ValueError("unexpected output from the hashing process")
                self.greeted = True
            proc.stdin.write(len(prefix).to_bytes(8, "little") + prefix + length.to_bytes(8, "little")
                             + n.to_bytes(8, "little") + ids.tobytes())
            proc.stdin.flush()
            data = proc.stdout.read(n * length)
            if len(data) == n * length:
                return data
        except (OSError, ValueError):
            pass
        self.proc = None
        return None

    def stop(self) -> None:
        """Stop using the child (its answers cannot be trusted); later jobs hash in this process."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.write((0).to_bytes(8, "little") * 3)
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, ValueError):
            proc.kill()
        except BaseException:  # never leave a child behind
            proc.kill()
            raise


class IdHasher:
    """Pseudonyms of whole-number ids, computed in child processes while the caller works on.

    :func:`pseudonymize` hashes in the calling process: one Python-level HMAC per
    distinct id (about 0.8 microseconds), holding the GIL. The loader of a
    5-million-row extract has about a million distinct client and dossier numbers;
    hashing them in a thread slowed its numpy work by about as long as the hashing
    took. This class runs the same HMAC in ``python -m caseload._hmac_worker``
    (standard library only, started with :mod:`subprocess`, so a user's script is
    never re-imported); jobs go to the ``workers`` children in turn. The results
    equal :func:`pseudonymize` of the same numbers (tested).

    Any failure of a child (it cannot be started, dies, or answers short) is
    silent: the job is then done with :func:`pseudonymize` in this process.

    Parameters
    ----------
    key : bytes
        The key from :func:`load_key` (sent to the children over a pipe).
    workers : int, default 2
        Child processes (the loader submits two jobs: client and dossier numbers).

    Examples
    --------
    >>> h = IdHasher(b"example key")
    >>> h.submit(np.array([123, 7]), "client").result().to_pylist() == list(pseudonymize([123, 7], b"example key"))
    True
    >>> h.close()
    """

    def __init__(self, key: bytes, workers: int = 2):
        self.key = bytes(key)
        self._children = [_HashChild(self.key) for _ in range(max(1, workers))]
        self._next = 0

    @property
    def running(self) -> int:
        """How many child processes are alive and answering."""
        return sum(c.proc is not None for c in self._children)

    def submit(self, ids: np.ndarray, domain: str = "client", pool=None):
        """Start hashing distinct whole numbers ``ids``; a future of an Arrow string array aligned with them.

        (``pool`` is not used: the same call as :meth:`PseudonymMemo.submit`.)
        """
        import pyarrow as pa

        ids = np.ascontiguousarray(ids, dtype="<i8")
        n, length = len(ids), PSEUDONYM_LENGTH
        prefix = domain.encode("utf-8") + b":"
        child = self._children[self._next % len(self._children)]
        self._next += 1

        def result():
            # the job is written from the child's own thread: the child reads it only after it has
            # finished the job before, and the caller must not block on the pipe meanwhile
            data = child.hash(ids, prefix, length) if n else None
            if data is not None:
                offsets = pa.py_buffer(np.arange(0, n * length + 1, length, dtype=np.int32).tobytes())
                out = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(data))
                # spot check against this process: the first and the last id
                ends = [ids[0], ids[-1]]
                if list(pseudonymize(ends, self.key, domain=domain)) == [out[0].as_py(), out[-1].as_py()]:
                    return out
                child.stop()
            return pa.array(pseudonymize(pd.Series(ids), self.key, domain=domain).to_numpy(dtype=object),
                            type=pa.string())

        return child.thread.submit(result)

    def abandon(self) -> None:
        """Kill the children now (their pending jobs end and are hashed in this process)."""
        for child in self._children:
            child.stop()

    def close(self) -> None:
        """Stop the child processes (waits for jobs still running)."""
        for child in self._children:
            child.close()

    def __enter__(self) -> IdHasher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- one load, each number hashed once


class PseudonymMemo:
    """Pseudonyms of client and dossier numbers that remembers them during one load.

    The files of one extract (the benefit periods, the clients, the assessments, the
    activities) name the same clients again and again; each distinct whole number
    of a domain is hashed once per :func:`caseload.read_extract` call, however many
    files it is in. Hashes go to ``hasher`` (:class:`IdHasher`) when given, else
    they are computed in this process. Calling the object is a drop-in for
    :func:`pseudonymize`; only whole-number ids of the remembered domains use the
    memory (others are hashed as usual). The memory is a sorted array of numbers
    and their pseudonyms, dropped with the object.

    Examples
    --------
    >>> memo = PseudonymMemo(b"example key")
    >>> first = memo(pd.Series([123, 7]), b"example key")
    >>> list(first) == list(pseudonymize([123, 7], b"example key"))
    True
    >>> memo.remembered("client")
    2
    """

    def __init__(self, key: bytes, hasher: IdHasher | None = None, domains=("client", "dossier")):
        self.key, self.hasher, self.domains = bytes(key), hasher, tuple(domains)
        #: Seconds (plus 20 microseconds per id) to wait for hashes before hashing here instead.
        self.timeout = 60.0
        self._known: dict[str, tuple[np.ndarray, object]] = {}
        self._new: dict[str, list] = {}

    def remembered(self, domain: str) -> int:
        """How many numbers of ``domain`` are known."""
        return len(self._lookup_table(domain)[0])

    def _lookup_table(self, domain: str):
        """The known numbers of ``domain``, sorted, and their pseudonyms (Arrow), with new ones merged in."""
        import pyarrow as pa

        known_ids, known_ps = self._known.get(domain, (np.zeros(0, dtype=np.int64), pa.array([], pa.string())))
        new = self._new.pop(domain, [])
        if new:
            all_ids = np.concatenate([known_ids, *(n for n, _ in new)])
            all_ps = pa.concat_arrays([known_ps, *(p for _, p in new)])
            order = np.argsort(all_ids, kind="stable")
            known_ids, known_ps = all_ids[order], all_ps.take(pa.array(order))
            self._known[domain] = (known_ids, known_ps)
        return known_ids, known_ps

    def submit(self, ids: np.ndarray, domain: str, pool=None):
        """Pseudonyms of distinct whole numbers ``ids``: an object with ``result()`` (an Arrow string array).

        Known numbers are looked up now; the others are hashed by the hasher, by
        ``pool`` (a thread pool) or, without either, when ``result()`` is called.
        """
        import pyarrow as pa

        ids = np.asarray(ids, dtype=np.int64)
        known_ids, known_ps = self._lookup_table(domain)
        pos = np.searchsorted(known_ids, ids)
        hit = pos < len(known_ids)
        hit[hit] = known_ids[pos[hit]] == ids[hit]
        new = ids[~hit]

        def hash_new():
            return pa.array(pseudonymize(pd.Series(new), self.key, domain=domain).to_numpy(dtype=object),
                            type=pa.string())

        if not len(new):
            pending = None
        elif self.hasher is not None:
            pending = self.hasher.submit(new, domain)
        elif pool is not None:
            pending = pool.submit(hash_new)
        else:
            pending = None
        memo = self

        class _Result:
            def result(self):
                if pending is None:
                    fresh = hash_new() if len(new) else pa.array([], pa.string())
                else:
                    try:  # a safety net: a hashing child that stops answering must not hang the load
                        fresh = pending.result(timeout=memo.timeout + 2e-5 * len(new))
                    except TimeoutError:
                        if memo.hasher is not None:
                            memo.hasher.abandon()
                        fresh = hash_new()
                if len(new) == len(ids):  # nothing was known: the fresh hashes are the answer
                    if len(new):
                        memo._new.setdefault(domain, []).append((new, fresh))
                    return fresh
                index = np.where(hit, pos, 0)
                index[~hit] = len(known_ids) + np.arange(len(new))
                everything = pa.concat_arrays([known_ps, fresh]) if len(new) else known_ps
                if len(new):  # sorted only when another file asks (a one-file load never does)
                    memo._new.setdefault(domain, []).append((new, fresh))
                return everything.take(pa.array(index))

        return _Result()

    def __call__(self, values, key: bytes, domain: str = "client") -> pd.Series:
        """:func:`pseudonymize`, remembering whole-number ids of the remembered domains."""
        if bytes(key) != self.key:
            raise PrivacyError("a PseudonymMemo serves one key only.", fix="make one per key.")
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        if domain not in self.domains or not pd.api.types.is_integer_dtype(series.dtype) \
                or pd.api.types.is_bool_dtype(series.dtype) or series.isna().any():
            return pseudonymize(values, key, domain=domain)
        codes, uniques = pd.factorize(series)
        ps = self.submit(np.asarray(uniques, dtype=np.int64), domain).result()
        out = pd.arrays.ArrowStringArray(ps.take(np.asarray(codes, dtype=np.int64)))
        return pd.Series(out, index=series.index, name=series.name)
