"""Failures: the right exception class, status and message; closed objects;
NULL handed to the library directly."""
import ctypes
import os
import shutil
import tempfile
import unittest

from support import UNCASED, TestCase, ce

BERT_CONFIG = {"model_type": "bert", "vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2,
               "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 10,
               "type_vocab_size": 2}


class TestOpenErrors(TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ce-py-err-")
        for name in ("config.json", "vocab.txt"):
            shutil.copy(os.path.join(UNCASED, name), self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_missing_directory(self):
        with self.assertRaises(ce.NotFoundError) as cm:
            ce.Model("/nonexistent/model-dir")
        e = cm.exception
        self.assertEqual(e.status, 10)
        self.assertIn("/nonexistent/model-dir", e.message)
        self.assertEqual(str(e), e.message)
        self.assertIsInstance(e, ce.ContextEmbedError)
        self.assertIsInstance(e, LookupError)

    def test_file_instead_of_directory(self):
        with self.assertRaisesRegex(ce.FileIOError, "not a directory") as cm:
            ce.Model(os.path.join(UNCASED, "vocab.txt"))
        self.assertIsInstance(cm.exception, OSError)

    def test_pickle_refused_with_advice(self):
        with open(os.path.join(self.tmp, "pytorch_model.bin"), "wb") as f:
            f.write(b"PK\x03\x04")
        with self.assertRaises(ce.UnsupportedError) as cm:
            ce.Model(self.tmp)
        self.assertIn("pytorch_model.bin", cm.exception.message)
        self.assertIn("safetensors", cm.exception.message)

    def test_truncated_weights(self):
        with open(os.path.join(UNCASED, "model.safetensors"), "rb") as f:
            head = f.read(5000)
        with open(os.path.join(self.tmp, "model.safetensors"), "wb") as f:
            f.write(head)
        with self.assertRaisesRegex(ce.FormatError, "truncated"):
            ce.Model(self.tmp)

    def test_bad_config(self):
        with self.assertRaisesRegex(ce.FormatError, "vocab_size"):
            ce.Model.random({"model_type": "bert"})
        with self.assertRaises(ce.UnsupportedError):
            ce.Model.random(dict(BERT_CONFIG, model_type="t5"))

    def test_status_classes(self):
        seen = set()
        for status in range(1, 13):
            e = ce.errors.error_for_status(status, "m")
            self.assertEqual(e.status, status)
            self.assertEqual(e.message, "m")
            seen.add(type(e))
        self.assertEqual(len(seen), 12)
        odd = ce.errors.error_for_status(99, "new code")
        self.assertIs(type(odd), ce.ContextEmbedError)
        self.assertEqual(odd.status, 99)


class TestClosed(TestCase):
    def test_closed_model(self):
        m = ce.Model(UNCASED, threads=1)
        s = m.session()
        tok = m.tokenizer
        m.close()
        m.close()  # idempotent
        for call in (lambda: m.embed("x"), lambda: m.info, lambda: m.session(),
                     lambda: m.embed_ids([12]), lambda: m.tokenizer):
            with self.assertRaisesRegex(ce.StateError, "model is closed") as cm:
                call()
            self.assertEqual(cm.exception.status, 12)
        with self.assertRaisesRegex(ce.StateError, "closed"):
            s.run([[12, 13]])
        with self.assertRaisesRegex(ce.StateError, "closed"):
            tok.encode("x")
        self.assertIn("closed", repr(m))

    def test_with_block(self):
        with ce.Model(UNCASED, threads=1) as m:
            with m.session() as s:
                s.run([[12, 13]])
            with self.assertRaises(ce.StateError):
                s.output()
        with self.assertRaises(ce.StateError):
            m.embed("x")

    def test_random_model(self):
        with ce.Model.random(BERT_CONFIG, seed=3) as a, ce.Model.random(BERT_CONFIG, seed=3) as b:
            self.assertIsNone(a.tokenizer)
            self.assertEqual(a.info["hidden_size"], 8)
            self.assertClose(a.embed_ids([1, 2, 3]), b.embed_ids([1, 2, 3]), 0.0)


class TestNullToTheLibrary(TestCase):
    """What a ctypes user gets when handing NULL to the library itself."""

    def test_null_handles(self):
        lib = ce._lib.lib
        value = ctypes.c_int64(7)
        status = lib.ce_model_get_info(None, 1, ctypes.byref(value))
        self.assertEqual(status, 1)
        self.assertEqual(value.value, 7)  # outputs untouched on failure
        with self.assertRaises(ce.InvalidArgumentError) as cm:
            lib.check(status)
        self.assertTrue(cm.exception.message)
        self.assertIsNone(lib.ce_model_architecture(None))
        self.assertIsNone(lib.ce_model_tokenizer(None))
        self.assertEqual(lib.ce_session_context_length(None), 0)
        self.assertEqual(lib.ce_tokenizer_vocab_size(None), 0)
        for free in ("ce_model_free", "ce_session_free", "ce_tokenizer_free", "ce_encoding_free",
                     "ce_options_free", "ce_select_free", "ce_sampler_free"):
            getattr(lib, free)(None)  # destructors accept NULL
        self.assertEqual(lib.ce_status_str(99), b"unknown status")


if __name__ == "__main__":
    unittest.main()
