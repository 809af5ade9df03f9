"""Sharing: one model and one tokenizer used by several threads at once,
each thread with its own session (explicit or pooled)."""
import threading
import unittest

from support import UNCASED, TestCase, ce

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello world!",
         "Naïve café owners in Zürich", "How old are you? I am six years old."]


def run_threads(n, target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


class TestThreads(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = ce.Model(UNCASED, threads=1)
        cls.want = [cls.model.embed(t, layers="all") for t in TEXTS]

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_model_embed_from_threads(self):
        results = {}

        def work(i):
            for rep in range(20):
                k = (i + rep) % len(TEXTS)
                results[(i, rep)] = (k, self.model.embed(TEXTS[k], layers="all"))

        run_threads(4, work)
        self.assertEqual(len(results), 80)
        for k, got in results.values():
            self.assertClose(got, self.want[k], 1e-6)

    def test_session_per_thread(self):
        results = [None, None]

        def work(i):
            with self.model.session() as s:
                out = []
                for rep in range(20):
                    out.append(s.embed(TEXTS[(i + rep) % 2], layers="all"))
                results[i] = out

        run_threads(2, work)
        for i in range(2):
            for rep, got in enumerate(results[i]):
                self.assertClose(got, self.want[(i + rep) % 2], 1e-6)

    def test_tokenizer_from_threads(self):
        tok = self.model.tokenizer
        want = [tok.encode(t).ids for t in TEXTS]
        seen = []

        def work(i):
            for rep in range(50):
                k = (i + rep) % len(TEXTS)
                seen.append(tok.encode(TEXTS[k]).ids == want[k])

        run_threads(4, work)
        self.assertEqual(len(seen), 200)
        self.assertTrue(all(seen))

    def test_errors_stay_on_their_thread(self):
        """ce_last_error() is thread-local: each thread gets its own message."""
        messages = {}

        def work(i):
            try:
                ce.Model("/nonexistent/thread-%d" % i)
            except ce.NotFoundError as e:
                messages[i] = e.message

        run_threads(4, work)
        for i in range(4):
            self.assertIn("/nonexistent/thread-%d" % i, messages[i])


if __name__ == "__main__":
    unittest.main()
