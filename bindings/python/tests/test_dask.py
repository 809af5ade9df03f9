"""contextembed.dask on a distributed.LocalCluster of 2 worker processes with
1 thread each: results bitwise equal to single-process Model.embed (backend
"ref" on both sides), in input order, with more partitions than workers; the
model opened once per worker; errors, a killed worker included, raised in the
caller within a time limit. Skipped when dask / distributed are not
importable (Debian: python3-distributed; python3-pandas for the DataFrame
test)."""
import logging
import os
import signal
import time
import unittest
import warnings

from support import FIXTURES, UNCASED, ce

try:
    import dask.bag as db
    import distributed
    import numpy as np

    from contextembed import dask as ced
    SKIP = None
except ImportError as e:  # the python3 on PATH, or no python3-distributed
    SKIP = "dask / distributed not importable (%s)" % e
if not SKIP and "libasan" in os.environ.get("LD_PRELOAD", ""):
    # worker processes under the sanitizer runtime start too slowly for the
    # timeouts these tests pin; the release run of the suite covers them
    SKIP = "dask workers under AddressSanitizer: covered by the release suite"

ST_MEAN = os.path.join(FIXTURES, "st-mean")
LIMIT = 60  # seconds: no wait in these tests may take longer


def fixture_texts(fixture):
    """The fixture's texts and variations of them (prefixes, reversed words),
    all within the model's length: a few dozen texts of different lengths."""
    from support import cases
    base = [c["text"] for c in cases(fixture)["cases"] if "text" in c]
    texts = []
    for t in base:
        words = t.split()
        texts.append(t)
        texts += [" ".join(words[:k]) for k in range(1, len(words))]
        texts.append(" ".join(reversed(words)))
    return texts


# Functions the workers run (module level: pickled by reference, imported there).

def die_on_kill(text):
    if text == "KILL":
        os.kill(os.getpid(), signal.SIGKILL)
    return text


def exit_on_exit(text):
    if text == "EXIT":
        raise SystemExit(3)
    return text


def not_drop(text):
    return text != "DROP"


def raise_timeout():
    raise TimeoutError("the task's own")


def environment():
    return {k: os.environ.get(k) for k in ("CONTEXTEMBED_LIBRARY", "PYTHONPATH")}


@unittest.skipIf(SKIP, SKIP)
class TestDask(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with warnings.catch_warnings():  # distributed's own (tornado's make_current, ports)
            warnings.simplefilter("ignore")
            cls.cluster = ced.local_cluster(n_workers=2, threads_per_worker=1,
                                            silence_logs=logging.CRITICAL)
            cls.client = distributed.Client(cls.cluster)
        cls.client.wait_for_workers(2, timeout=LIMIT)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.cluster.close()

    def compute(self, collection):
        """collection.compute() on the cluster, failing after LIMIT seconds."""
        future = self.client.compute(collection)
        try:
            return future.result(timeout=LIMIT)
        finally:
            future.cancel()

    def single(self, fixture_dir, texts, **kw):
        with ce.Model(fixture_dir, backend="ref", threads=1) as model:
            return [ced._array(v) for v in model.embed(texts, **kw)]

    def test_workers_get_the_environment(self):
        facts = ced.open_on_workers(self.client, UNCASED, backend="ref")
        self.assertEqual(len(facts), 2)
        pids = {f["pid"] for f in facts.values()}
        self.assertEqual(len(pids), 2)
        self.assertNotIn(os.getpid(), pids)
        for f in facts.values():
            self.assertEqual(f["library"], ce.library_path)
            self.assertEqual(f["version"], ce.library_version)
            self.assertEqual((f["backend"], f["threads"]), ("ref", 1))
        for env in self.client.run(environment).values():
            self.assertEqual(env, environment())

    def check_bag(self, fixture_dir, texts, pool):
        bag = db.from_sequence(texts, npartitions=7)
        self.assertGreater(bag.npartitions, 2)
        lazy = ced.embed_bag(bag, fixture_dir, pool=pool, backend="ref")
        self.assertEqual(lazy.numblocks[0], bag.npartitions)
        got = self.compute(lazy)
        want = np.stack(self.single(fixture_dir, texts, pool=pool))
        self.assertEqual(got.dtype, np.float32)
        self.assertEqual(got.shape, want.shape)
        self.assertTrue(np.array_equal(got, want), "max abs difference %g"
                        % np.abs(got - want).max())
        return got

    def test_bag_sentence_transformers(self):
        texts = fixture_texts("st-mean")
        self.check_bag(ST_MEAN, texts, "mean")
        self.check_bag(ST_MEAN, texts, "default")  # its own pipeline: mean + normalise

    def test_bag_bert(self):
        texts = fixture_texts("bert-tiny-uncased")
        got = self.check_bag(UNCASED, texts, "mean")
        # Input order: every row is the vector of its own text.
        alone = self.single(UNCASED, [texts[5]], pool="mean")[0]
        self.assertTrue(np.array_equal(got[5], alone))
        # Each worker process opened the model once and reused it.
        key = ced._key(UNCASED, "ref", 1, True)
        opens = [stats.get(key, 0) for stats in self.client.run(ced._cache_stats).values()]
        self.assertTrue(all(n <= 1 for n in opens), opens)
        self.assertGreaterEqual(sum(opens), 1)

    def test_two_bags_at_once(self):
        texts = fixture_texts("bert-tiny-uncased")
        a, b = texts[:12], texts[12:24]
        bag_a, bag_b = (db.from_sequence(t, npartitions=3) for t in (a, b))
        futures = self.client.compute([ced.embed_bag(bag_a, UNCASED, backend="ref"),
                                       ced.embed_bag(bag_b, UNCASED, backend="ref")])
        distributed.wait(futures, timeout=LIMIT)
        got_a, got_b = self.client.gather(futures)
        self.assertTrue(np.array_equal(got_a, np.stack(self.single(UNCASED, a, pool="mean"))))
        self.assertTrue(np.array_equal(got_b, np.stack(self.single(UNCASED, b, pool="mean"))))

    def test_layers(self):
        texts = fixture_texts("bert-tiny-uncased")[:12]
        got = self.compute(ced.embed_bag(db.from_sequence(texts, npartitions=4), UNCASED,
                                         pool="cls", layers=[0, -1], backend="ref"))
        want = np.stack(self.single(UNCASED, texts, pool="cls", layers=[0, -1]))
        self.assertEqual(got.shape, (len(texts), 2, want.shape[-1]))
        self.assertTrue(np.array_equal(got, want))

    def test_per_token(self):
        texts = fixture_texts("bert-tiny-uncased")[:15]
        bag = ced.embed_bag(db.from_sequence(texts, npartitions=5), UNCASED, pool=None,
                            backend="ref")
        self.assertIsInstance(bag, db.Bag)
        got = self.compute(bag)
        want = self.single(UNCASED, texts)
        self.assertEqual(len(got), len(texts))
        for g, w in zip(got, want):
            self.assertEqual(g.shape, w.shape)
            self.assertTrue(np.array_equal(g, w))

    def test_empty_partition(self):
        texts = ["DROP"] * 4 + fixture_texts("bert-tiny-uncased")[:8]
        bag = db.from_sequence(texts, npartitions=3).filter(not_drop)  # partition 0 empty
        got = self.compute(ced.embed_bag(bag, UNCASED, backend="ref"))
        want = np.stack(self.single(UNCASED, texts[4:], pool="mean"))
        self.assertTrue(np.array_equal(got, want))

    def test_embed_texts(self):
        texts = fixture_texts("st-mean")
        got = ced.embed_texts(self.client, texts, ST_MEAN, backend="ref", timeout=LIMIT)
        self.assertIsInstance(got, np.ndarray)
        self.assertTrue(np.array_equal(got, np.stack(self.single(ST_MEAN, texts, pool="mean"))))
        empty = ced.embed_texts(self.client, [], ST_MEAN, backend="ref", timeout=LIMIT)
        self.assertEqual(empty.shape, (0, 32))

    def test_series(self):
        try:
            import dask.dataframe as dd
            import pandas as pd
        except ImportError as e:
            self.skipTest("dask.dataframe not importable (python3-pandas): %s" % e)
        texts = fixture_texts("bert-tiny-uncased")
        df = dd.from_pandas(pd.DataFrame({"id": range(len(texts)), "text": texts}),
                            npartitions=5)
        got = self.compute(ced.embed_series(df["text"], UNCASED, backend="ref"))
        self.assertTrue(np.array_equal(got, np.stack(self.single(UNCASED, texts, pool="mean"))))
        with self.assertRaises(TypeError):
            ced.embed_series(df, UNCASED)

    def test_time_limits(self):
        with self.assertRaisesRegex(TimeoutError, "the task's own"):  # not taken for a poll
            ced._result(self.client, self.client.submit(raise_timeout), time.monotonic() + LIMIT, 5)
        start = time.monotonic()
        with self.assertRaisesRegex(TimeoutError, "within the timeout"):
            ced._result(self.client, self.client.submit(time.sleep, 6), start + 1.5, 5)
        self.assertLess(time.monotonic() - start, 5)  # did not wait for the task

    def test_close_worker_models(self):
        ced.open_on_workers(self.client, UNCASED, backend="ref")
        closed = ced.close_worker_models(self.client)
        self.assertEqual(len(closed), 2)
        self.assertTrue(all(n >= 1 for n in closed.values()), closed)
        texts = fixture_texts("bert-tiny-uncased")[:6]  # opened again on demand
        got = ced.embed_texts(self.client, texts, UNCASED, backend="ref", timeout=LIMIT)
        self.assertTrue(np.array_equal(got, np.stack(self.single(UNCASED, texts, pool="mean"))))

    def test_missing_model(self):
        bag = db.from_sequence(["a", "b", "c", "d"], npartitions=4)
        missing = os.path.join(FIXTURES, "no-such-model")
        with self.assertRaises(ce.ContextEmbedError):  # the probe, at once
            ced.embed_bag(bag, missing)
        with self.assertRaises(ce.ContextEmbedError):  # per-token: at compute
            self.compute(ced.embed_bag(bag, missing, pool=None))
        with self.assertRaises(ce.ContextEmbedError):
            ced.open_on_workers(self.client, missing)

    def test_bad_texts(self):
        texts = fixture_texts("bert-tiny-uncased")[:10]
        with self.assertRaisesRegex(TypeError, "item .*NoneType"):
            ced.embed_texts(self.client, texts + [None], UNCASED, timeout=LIMIT)
        with self.assertRaises(ce.TooLongError):
            ced.embed_texts(self.client, texts + ["word " * 100], UNCASED, timeout=LIMIT)

    def check_worker_death(self, fn, marker):
        texts = fixture_texts("bert-tiny-uncased")[:20]
        texts.insert(11, marker)
        bag = db.from_sequence(texts, npartitions=6).map(fn)
        with self.assertRaises(distributed.KilledWorker):
            self.compute(ced.embed_bag(bag, UNCASED, backend="ref"))
        # The nanny brings the worker back and the cluster carries on.
        self.client.wait_for_workers(2, timeout=LIMIT)
        got = ced.embed_texts(self.client, texts[:11], UNCASED, backend="ref", timeout=LIMIT)
        self.assertEqual(got.shape, (11, self.single(UNCASED, ["a"], pool="mean")[0].shape[0]))

    def test_killed_worker(self):
        self.check_worker_death(die_on_kill, "KILL")

    def test_system_exit_in_task(self):
        self.check_worker_death(exit_on_exit, "EXIT")


@unittest.skipIf(SKIP, SKIP)
class TestBatchMethod(unittest.TestCase):
    """Within a partition, Model.embed_batch is preferred when the binding has
    it and it takes the keywords given; Model.embed otherwise."""

    class Stub:
        def __init__(self):
            self.calls = []

        def embed(self, texts, pool=None, normalize=None, batch_size=32, **kw):
            self.calls.append(("embed", batch_size, kw))
            return [np.full(3, len(t), np.float32) for t in texts]

    class BatchStub(Stub):
        def embed_batch(self, texts, pool=None, normalize=None, batch_tokens=None,
                        truncate=None):
            self.calls.append(("embed_batch", batch_tokens, {"truncate": truncate}))
            return np.stack([np.full(3, len(t), np.float32) for t in texts])

    def spec(self, **kw):
        return ced._spec("m", "mean", None, 8, 512, "ref", 1, True, kw)

    def test_prefers_embed_batch(self):
        stub = self.BatchStub()
        out = ced._embed_pooled(stub, ["ab", "c"], self.spec(truncate=True))
        self.assertEqual(out.tolist(), [[2, 2, 2], [1, 1, 1]])
        self.assertEqual(stub.calls, [("embed_batch", 512, {"truncate": True})])

    def test_falls_back_to_embed(self):
        stub = self.BatchStub()  # embed_batch does not take layers=
        ced._embed_pooled(stub, ["ab"], self.spec(layers=[-1]))
        self.assertEqual(stub.calls, [("embed", 8, {"layers": [-1]})])
        plain = self.Stub()
        ced._embed_pooled(plain, ["ab"], self.spec())
        self.assertEqual(plain.calls, [("embed", 8, {})])


if __name__ == "__main__":
    unittest.main()
