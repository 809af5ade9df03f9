"""contextembed.dask: embed a corpus across the workers of a Dask cluster.

    import dask.bag as db
    from distributed import Client
    from contextembed.dask import embed_bag, embed_texts, local_cluster

    with local_cluster(n_workers=2) as cluster, Client(cluster) as client:
        texts = db.read_text("corpus.txt").map(lambda line: line.rstrip("\n"))
        vectors = embed_bag(texts, "/models/all-MiniLM-L6-v2", pool="mean").compute()
        # or, from a list already in memory, with a time limit:
        vectors = embed_texts(client, ["A text.", "Another."], "/models/...", timeout=600)

Needs dask and distributed (Debian: python3-distributed; python3-pandas for
Dask DataFrames). ``import contextembed`` does not import this module.

How it runs. Every task embeds one partition of texts. The model is never
pickled: a task carries the model's path and options only, and each worker
process opens the model the first time a task needs it and keeps it, keyed by
(path, backend, threads, sentence_modules), for every later task and call
(worker_model). So the model directory must be present at the same path on
every worker; the client does not need it. Within a partition the texts go to
Model.embed_batch when the binding has it (batch_tokens), else to Model.embed
(batch_size).

Results come back in input order:
- pooled outputs (pool="mean", "cls", "default", ...): a dask array [N, D]
  ([N, L, D] with a list of layers), float32, chunked by input partition.
  embed_bag and embed_series open the model on one worker at once to learn D
  (so a missing model directory fails there, before any compute); N is known
  only after computing (chunk sizes are NaN until then).
- per-token outputs (pool=None): a dask bag holding one array [T_i, D] per
  text; compute() gives a list of arrays.

Errors. An exception in a task (a text that is not a str, a text over the
model's length without truncate, a model directory missing on a worker) is
raised in the caller by compute() / result(), as distributed does. A worker
process that dies (killed, out of memory, SystemExit) makes the scheduler
retry its task elsewhere up to ``distributed.scheduler.allowed-failures``
times (default 3), then raise distributed.KilledWorker: bounded, but with a
large model each retry costs a model open. local_cluster() sets it to 0 (fail
at the first death); on a scheduler of your own set
DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0. embed_texts also takes a
timeout, and gives up when the cluster has had no worker for
no_workers_timeout seconds (tasks would otherwise wait for a worker forever).
"""
from __future__ import annotations

import asyncio
import inspect
import math
import os
import threading
import time
from collections import namedtuple
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import dask
import dask.array as da
import dask.bag as db
import distributed
import numpy as np

from ._types import PathArg, TextInput
from .model import Model

__all__ = ["embed_bag", "embed_series", "embed_texts", "local_cluster", "open_on_workers",
           "close_worker_models", "worker_model"]

# What a task needs to know, and all it carries: plain values, picklable.
_Spec = namedtuple("_Spec", "model_path backend threads sentence_modules pool normalize "
                            "batch_size batch_tokens kwargs")

# ---- the per-process model cache (lives in each worker) ----

_ModelKey = Tuple[Union[str, bytes], str, Optional[int], bool]
_models: Dict[_ModelKey, Model] = {}
_opens: Dict[_ModelKey, int] = {}  # key: how many times this process opened it (1, unless closed)
_models_lock = threading.Lock()


def _key(model_path: PathArg, backend: str, threads: Optional[int],
         sentence_modules: bool) -> _ModelKey:
    return (os.fspath(model_path), backend, threads, bool(sentence_modules))


def worker_model(model_path: PathArg, backend: str = "auto", threads: Optional[int] = 1,
                 sentence_modules: bool = True) -> Model:
    """The Model of @model_path with these options, opened in this process on
    first use and kept for the life of the process (shared by the worker's
    threads: a Model is thread-safe). A failed open is not remembered: the
    next call tries again, and raises again."""
    key = _key(model_path, backend, threads, sentence_modules)
    with _models_lock:  # one open per key, even with several worker threads
        model = _models.get(key)
        if model is None:
            model = Model(key[0], backend=backend, threads=threads,
                          sentence_modules=sentence_modules)
            _models[key] = model
            _opens[key] = _opens.get(key, 0) + 1
    return model


def _close_models() -> int:
    """Close and forget this process's models (run by close_worker_models)."""
    with _models_lock:
        models = list(_models.values())
        _models.clear()
    for model in models:
        model.close()
    return len(models)


def _cache_stats() -> Dict[_ModelKey, int]:
    """{key: opens} of this process (for tests)."""
    with _models_lock:
        return dict(_opens)


def _worker_facts(model_path: PathArg, backend: str, threads: Optional[int],
                  sentence_modules: bool) -> Dict[str, Any]:
    """Run on every worker by open_on_workers."""
    from . import library_path, library_version
    model = worker_model(model_path, backend, threads, sentence_modules)
    with model.session() as session:
        return {"pid": os.getpid(), "library": library_path, "version": library_version,
                "backend": session.backend, "threads": session.threads}


# ---- one partition (runs in a worker) ----

def _texts_of(part: Any, index: int) -> List[TextInput]:
    """A partition (list, tuple, pandas Series, iterator) as a list of texts:
    str, or (str, str) pairs. Anything else raises TypeError naming it."""
    items = part.tolist() if hasattr(part, "tolist") else list(part)
    for i, t in enumerate(items):
        ok = isinstance(t, str) or (isinstance(t, tuple) and len(t) == 2
                                    and all(isinstance(s, str) for s in t))
        if not ok:
            raise TypeError("contextembed.dask: partition %d, item %d: a text must be a str or "
                            "a (str, str) pair, not %s %.60r" % (index, i, type(t).__name__, t))
    return items


def _array(x: Any) -> np.ndarray:
    """A result as a float32 numpy array (FloatArray when the worker runs
    without numpy in the binding)."""
    if hasattr(x, "data") and hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return np.asarray(x.data, dtype=np.float32).reshape(x.shape)
    return np.asarray(x, dtype=np.float32)


def _batch_method(model: Model, kwargs: Dict[str, Any]) -> Optional[Callable[..., Any]]:
    """model.embed_batch when the binding has it and it takes every keyword
    of @kwargs; else None."""
    method = getattr(model, "embed_batch", None)
    if method is None:
        return None
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return method
    return method if all(k in params for k in kwargs) else None


def _embed_pooled(model: Model, texts: List[TextInput], spec: _Spec) -> np.ndarray:
    """[n, ...] float32 for n texts, pooled."""
    method = _batch_method(model, spec.kwargs)
    if method is not None:
        extra = {} if spec.batch_tokens is None else {"batch_tokens": spec.batch_tokens}
        out = method(texts, pool=spec.pool, normalize=spec.normalize, **extra, **spec.kwargs)
        if isinstance(out, list):  # a list of lists without numpy
            return np.asarray(out, dtype=np.float32)
        return _array(out)
    out = model.embed(texts, pool=spec.pool, normalize=spec.normalize,
                      batch_size=spec.batch_size, **spec.kwargs)
    return np.stack([_array(v) for v in out])


def _model_of(spec: _Spec) -> Model:
    return worker_model(spec.model_path, spec.backend, spec.threads, spec.sentence_modules)


def _embed_partition(part: Any, spec: _Spec, index: int,
                     trailing: Sequence[int]) -> np.ndarray:
    """Task: one partition's pooled vectors, [n] + trailing."""
    texts = _texts_of(part, index)
    model = _model_of(spec)
    if not texts:
        return np.empty((0,) + tuple(trailing), dtype=np.float32)
    out = _embed_pooled(model, texts, spec)
    if out.shape[1:] != tuple(trailing):
        raise ValueError("contextembed.dask: partition %d gave vectors of shape %r, expected %r "
                         "(is the model the same on every worker?)"
                         % (index, out.shape[1:], tuple(trailing)))
    return out


def _embed_partition_tokens(part: Any, spec: _Spec, index: int) -> List[np.ndarray]:
    """Task: one partition's per-token arrays, a list of [T_i, ...]."""
    texts = _texts_of(part, index)
    model = _model_of(spec)
    if not texts:
        return []
    out = model.embed(texts, pool=None, normalize=spec.normalize,
                      batch_size=spec.batch_size, **spec.kwargs)
    return [_array(v) for v in out]


def _probe(spec: _Spec) -> Tuple[int, ...]:
    """Task: the shape of one pooled output, without its first axis."""
    out = _embed_pooled(_model_of(spec), ["a"], spec)
    return tuple(int(d) for d in out.shape[1:])


# ---- building the graph (runs in the caller) ----

def _spec(model_path: PathArg, pool: Optional[str], normalize: Optional[bool],
          batch_size: int, batch_tokens: Optional[int], backend: str, threads: Optional[int],
          sentence_modules: bool, kwargs: Dict[str, Any]) -> _Spec:
    if "layers" in kwargs and kwargs["layers"] is not None and not isinstance(
            kwargs["layers"], (int, str)):
        kwargs["layers"] = list(kwargs["layers"])
    return _Spec(os.fspath(model_path), backend, threads, bool(sentence_modules), pool,
                 normalize, int(batch_size), batch_tokens, dict(kwargs))


def _assemble(parts: Iterable[Any], spec: _Spec,
              trailing: Optional[Sequence[int]]) -> Union[da.Array, db.Bag]:
    """Delayed partitions -> a dask array [N] + trailing (pooled) or a bag of
    per-text arrays (trailing None: per-token)."""
    parts = list(parts)
    token = dask.base.tokenize(spec, trailing, [p.key for p in parts])  # unique per input
    if trailing is None:
        tasks = [dask.delayed(_embed_partition_tokens, pure=True)(
                 p, spec, i, dask_key_name="contextembed-tokens-%s-%d" % (token, i))
                 for i, p in enumerate(parts)]
        return db.from_delayed(tasks)
    trailing = tuple(trailing)
    meta = np.empty((0,) * (1 + len(trailing)), dtype=np.float32)
    arrays = [da.from_delayed(dask.delayed(_embed_partition, pure=True)(
                  p, spec, i, trailing, dask_key_name="contextembed-%s-%d" % (token, i)),
              shape=(math.nan,) + trailing, dtype=np.float32, meta=meta)
              for i, p in enumerate(parts)]
    return arrays[0] if len(arrays) == 1 else da.concatenate(arrays, axis=0)


def _trailing(spec: _Spec) -> Optional[Tuple[int, ...]]:
    """The shape of one pooled vector, from a task on the current scheduler
    (on a distributed cluster: under _result's guard against a cluster
    without workers)."""
    if spec.pool is None:
        return None
    client = getattr(dask.base.get_scheduler(), "__self__", None)
    if isinstance(client, distributed.Client):
        return tuple(_result(client, client.submit(_probe, spec, pure=False), None, 60))
    return tuple(dask.delayed(_probe, pure=True)(spec).compute())


def embed_bag(bag: db.Bag, model_path: PathArg, pool: Optional[str] = "mean",
              normalize: Optional[bool] = None, batch_size: int = 32,
              batch_tokens: Optional[int] = None, backend: str = "auto",
              threads: Optional[int] = 1, sentence_modules: bool = True,
              **embed_kwargs: Any) -> Union[da.Array, db.Bag]:
    """Embed the texts of a dask bag (str, or (str, str) pairs) on the
    cluster of the current scheduler (a distributed Client, once created, is
    the default; without one, threads of this process).

    Returns, lazily, in the bag's order: with a pool, a dask array [N, D]
    float32 (``.compute()`` gives the numpy array); with pool=None, a dask bag
    of [T_i, D] arrays (``.compute()`` gives a list). pool, normalize,
    batch_size and the other keywords (layers=, truncate=, ...) mean what
    they mean for Model.embed; batch_tokens goes to Model.embed_batch when
    the binding has it. backend, threads and sentence_modules open the model
    on each worker (threads: compute threads per worker process, 1 by
    default: one per worker thread is what a cluster of 1-thread workers
    wants). With a pool, the model is opened on one worker right away to learn
    D, so a model that cannot be opened raises here.
    """
    if not isinstance(bag, db.Bag):
        raise TypeError("embed_bag: expected a dask.bag.Bag, not %s" % type(bag).__name__)
    spec = _spec(model_path, pool, normalize, batch_size, batch_tokens, backend, threads,
                 sentence_modules, embed_kwargs)
    return _assemble(bag.to_delayed(), spec, _trailing(spec))


def embed_series(series: Any, model_path: PathArg, pool: Optional[str] = "mean",
                 normalize: Optional[bool] = None, batch_size: int = 32,
                 batch_tokens: Optional[int] = None, backend: str = "auto",
                 threads: Optional[int] = 1, sentence_modules: bool = True,
                 **embed_kwargs: Any) -> Union[da.Array, db.Bag]:
    """embed_bag for a Dask DataFrame column (a dask Series of str): a dask
    array [N, D] in the Series' order (pooled) or a bag of [T_i, D] arrays
    (pool=None). Missing values (NaN, None) raise TypeError in the caller:
    drop or fill them first (``df["text"].fillna("")``)."""
    if not (hasattr(series, "to_delayed") and hasattr(series, "npartitions")):
        raise TypeError("embed_series: expected a dask Series, not %s" % type(series).__name__)
    if hasattr(series, "columns"):
        raise TypeError("embed_series: pass one column of the DataFrame (df[\"text\"])")
    spec = _spec(model_path, pool, normalize, batch_size, batch_tokens, backend, threads,
                 sentence_modules, embed_kwargs)
    return _assemble(series.to_delayed(), spec, _trailing(spec))


def _workers(client: distributed.Client) -> int:
    return len(client.scheduler_info().get("workers", {}))


def _partitions(n_texts: int, client: distributed.Client) -> int:
    """Enough partitions to keep every worker thread busy and to balance
    uneven texts (4 per thread), more for big corpora (<= 1,000 texts each),
    none under 16 texts."""
    threads = sum(client.nthreads().values()) or 1
    want = max(4 * threads, math.ceil(n_texts / 1000))
    return max(1, min(want, math.ceil(n_texts / 16)))


def embed_texts(client: distributed.Client, texts: Iterable[TextInput], model_path: PathArg,
                pool: Optional[str] = "mean", normalize: Optional[bool] = None,
                batch_size: int = 32, batch_tokens: Optional[int] = None,
                backend: str = "auto", threads: Optional[int] = 1,
                sentence_modules: bool = True, npartitions: Optional[int] = None,
                timeout: Optional[float] = None, no_workers_timeout: Optional[float] = 60,
                **embed_kwargs: Any) -> Union[np.ndarray, List[np.ndarray]]:
    """Embed a list of texts on @client's cluster and wait: a numpy array
    [N, D] (pooled) or a list of [T_i, D] arrays (pool=None), in input order.

    The texts travel in the task graph; for a corpus that does not fit the
    client's memory, read it as a bag on the workers (db.read_text) and use
    embed_bag. npartitions: None picks 4 per worker thread (more for big
    corpora). timeout: seconds before giving up (TimeoutError, the work
    cancelled); None waits as long as the work goes on, but raises
    RuntimeError once the cluster has had no worker for no_workers_timeout
    seconds. Other arguments: see embed_bag.
    """
    texts = list(texts)
    spec = _spec(model_path, pool, normalize, batch_size, batch_tokens, backend, threads,
                 sentence_modules, embed_kwargs)
    deadline = None if timeout is None else time.monotonic() + timeout
    trailing = None
    if spec.pool is not None:
        trailing = tuple(_result(client, client.submit(_probe, spec, pure=False), deadline,
                                 no_workers_timeout))
    if not texts:
        return [] if trailing is None else np.empty((0,) + trailing, dtype=np.float32)
    n = npartitions or _partitions(len(texts), client)
    bag = db.from_sequence(texts, npartitions=min(n, len(texts)))
    return _result(client, client.compute(_assemble(bag.to_delayed(), spec, trailing)),
                   deadline, no_workers_timeout)


def _result(client: distributed.Client, future: Any, deadline: Optional[float],
            no_workers_timeout: Optional[float]) -> Any:
    """@future's result (or its task's exception), waiting until @deadline
    (time.monotonic(); None: no limit) and while the cluster has a worker at
    least every @no_workers_timeout seconds. The work is cancelled on the way
    out, whatever happens (a timeout, Ctrl-C)."""
    lonely_since = None
    try:
        while True:
            step = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
            try:  # wait() only waits: a TimeoutError from it is never the task's own
                distributed.wait(future, timeout=step)
            except (TimeoutError, asyncio.TimeoutError):
                pass
            else:
                return future.result()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError("contextembed.dask: no result within the timeout")
            if no_workers_timeout is not None:
                if _workers(client):
                    lonely_since = None
                elif lonely_since is None:
                    lonely_since = now
                elif now - lonely_since >= no_workers_timeout:
                    raise RuntimeError("contextembed.dask: the cluster has had no worker for "
                                       "%g s" % no_workers_timeout)
    finally:
        future.cancel()


def open_on_workers(client: distributed.Client, model_path: PathArg, backend: str = "auto",
                    threads: Optional[int] = 1,
                    sentence_modules: bool = True) -> Dict[str, Dict[str, Any]]:
    """Open the model on every worker of @client now (as the tasks of
    embed_bag would on first use) and say what each loaded: {worker address:
    {"pid", "library", "version", "backend", "threads"}}.
    Raises the first worker's error: a quick check that the model directory
    is present and opens everywhere, and a warm-up before timing."""
    return client.run(_worker_facts, os.fspath(model_path), backend, threads, sentence_modules)


def close_worker_models(client: distributed.Client) -> Dict[str, int]:
    """Close the models every worker of @client keeps open (to free their
    memory on a long-lived cluster); {worker address: models closed}. Call it
    only while no embedding runs: a running task would fail. The next task
    opens its model again."""
    return client.run(_close_models)


def local_cluster(n_workers: int = 2, threads_per_worker: int = 1, allowed_failures: int = 0,
                  **kwargs: Any) -> distributed.LocalCluster:
    """A distributed.LocalCluster of worker processes for embedding: by
    default 2 workers of 1 thread, and a scheduler that fails a task at the
    first death of a worker running it (allowed_failures=0: KilledWorker
    rather than retries). Worker processes inherit this process's
    environment (CONTEXTEMBED_LIBRARY, PYTHONPATH) and sys.path. Other
    keywords go to LocalCluster."""
    scheduler_kwargs = dict(kwargs.pop("scheduler_kwargs", None) or {})
    scheduler_kwargs.setdefault("allowed_failures", allowed_failures)
    kwargs.setdefault("processes", True)
    kwargs.setdefault("dashboard_address", None)
    return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                        scheduler_kwargs=scheduler_kwargs, **kwargs)
