"""dask_corpus: embed a file of texts (one per line) on a Dask cluster and
write the sentence vectors as one .npy array [N, D], row i = line i + 1.

    /usr/bin/python3 dask_corpus.py MODEL_DIR texts.txt vectors.npy
    /usr/bin/python3 dask_corpus.py MODEL_DIR texts.txt vectors.npy --scheduler tcp://host:8786

Without --scheduler it starts a local cluster of --workers processes (2) with
1 thread each; with it, it uses that cluster, whose workers must each have
MODEL_DIR at the same path (this machine needs only the text file). Needs
dask and distributed (Debian: python3-distributed); the contextembed package
must be importable on every worker (PYTHONPATH or pip install).
"""
import argparse
import statistics
import sys
import time

import numpy as np
from distributed import Client

from contextembed.dask import embed_texts, local_cluster, open_on_workers


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir")
    p.add_argument("texts", help="UTF-8 text file, one text per line")
    p.add_argument("output", help="the .npy file to write")
    p.add_argument("--scheduler", help="address of a running scheduler (tcp://host:8786)")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--threads", type=int, default=1,
                   help="compute threads of the model in each worker (default 1)")
    p.add_argument("--pool", default="mean", help="mean, cls, max, default, ... (default mean)")
    p.add_argument("--normalize", action="store_true", help="unit-length vectors")
    p.add_argument("--backend", default="auto")
    p.add_argument("--partitions", type=int, help="number of partitions (default: 4 per worker)")
    p.add_argument("--timeout", type=float, help="give up after this many seconds")
    p.add_argument("--repeat", type=int, default=1, help="embed N times, report the median")
    args = p.parse_args()

    with open(args.texts, encoding="utf-8") as f:
        texts = [line.rstrip("\r\n") for line in f]
    size = sum(len(t.encode("utf-8")) for t in texts)

    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = local_cluster(n_workers=args.workers, threads_per_worker=1)
        client = Client(cluster)
    try:
        start = time.perf_counter()  # open the model on every worker first: a check and a warm-up
        workers = open_on_workers(client, args.model_dir, backend=args.backend,
                                  threads=args.threads)
        opened = time.perf_counter() - start
        first = next(iter(workers.values()))
        print("%d workers, model opened in %.2f s (backend %s, %d thread(s) each, %s)"
              % (len(workers), opened, first["backend"], first["threads"], first["library"]))

        times = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            vectors = embed_texts(client, texts, args.model_dir, pool=args.pool,
                                  normalize=True if args.normalize else None,
                                  backend=args.backend, threads=args.threads,
                                  npartitions=args.partitions, timeout=args.timeout)
            times.append(time.perf_counter() - start)
            print("%d texts in %.2f s: %.1f texts/s, %.1f KB/s"
                  % (len(texts), times[-1], len(texts) / times[-1], size / 1e3 / times[-1]))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    if len(times) > 1:
        median = statistics.median(times)
        print("median of %d: %.2f s, %.1f texts/s" % (len(times), median, len(texts) / median))
    np.save(args.output, vectors)
    print("wrote %s: %s %s" % (args.output, "x".join(map(str, vectors.shape)), vectors.dtype))


if __name__ == "__main__":  # the guard matters: worker processes re-import this file
    sys.exit(main())
