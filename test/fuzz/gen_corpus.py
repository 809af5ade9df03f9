#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (test/fuzz/corpus/<target>/).

Seeds are the small fixtures' own files (how each target's input is laid out
is in its source: a selector byte, NUL between files) and hand-made cases:
the bugs found so far (a vocab.json id of 2147483647, ...) and the corners
each loader checks. Run from anywhere; it rewrites the corpora in place.
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', 'fixtures')
OUT = os.path.join(HERE, 'corpus')


def fixture(*path):
    with open(os.path.join(FIX, *path), 'rb') as f:
        return f.read()


def js(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def safetensors(tensors, header_extra=None, data=None):
    """tensors: name -> (dtype, shape, bytes)."""
    header, blob = {}, b''
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [len(blob), len(blob) + len(raw)]}
        blob += raw
    header.update(header_extra or {})
    h = json.dumps(header).encode()
    return struct.pack('<Q', len(h)) + h + (blob if data is None else data)


def json_corpus():
    docs = {
        'values': '{"a": 1, "b": -2.5e-3, "c": "x\\/y\\u00e9", "d": [true, false, null], '
                  '"e": {"f": 9007199254740993}}',
        'surrogates': '["\\ud83d\\ude00!", "a\\u0000b", "\\\\ud83d", "\\udc00"]',
        'raw-yaml-unsafe': '["a\x7f", "b\xc2\x85c", "\xc2\x9f", "\xef\xbf\xbf"]',
        'deep': '[' * 300 + ']' * 300,
        'yaml': 'a: &x 1\nb: *x\n',
        'numbers': '[0, -0, 1e308, 1e999, 0x1F, .5, 9223372036854775808, NaN, inf]',
        'repeated': '[' + ','.join(['[]', '{}', '1', '"F32"'] * 50) + ']',
        'keys': '{"": 1, "a": 2, "a": 3, "\\u0000": 4, "k": {"k": {"k": null}}}',
        'two-docs': '{}\n---\n{}',
        'truncated': '{"a": [1, 2',
    }
    for name, doc in docs.items():
        put('json', name, doc.encode('utf-8', 'surrogateescape') if isinstance(doc, str) else doc)


def config_corpus():
    models = ['bert-tiny-uncased', 'gpt2-tiny', 'distilbert-tiny', 'roberta-tiny']
    for k, m in enumerate(models):
        raw = fixture(m, 'config.json')
        put('config', m, bytes([k]) + raw)
        cfg = json.loads(raw)
        variants = {
            'no-type': {key: v for key, v in cfg.items() if key != 'model_type'},
            'huge': dict(cfg, vocab_size=2**40, hidden_size=2**31, max_position_embeddings=-1),
            'odd-act': dict(cfg, hidden_act='swish', activation_function=None),
            'zero-heads': dict(cfg, num_attention_heads=0, n_head=0, n_heads=0),
        }
        for name, v in variants.items():
            put('config', f'{m}-{name}', bytes([k]) + js(v))


def safetensors_corpus():
    f32 = struct.pack('<4f', 1, 2, 3, 4)
    put('safetensors', 'two-tensors', safetensors({'a': ('F32', [2, 2], f32),
                                                    'b': ('F16', [2], b'\0<\0<')},
                                                   {'__metadata__': {'format': 'pt'}}))
    put('safetensors', 'scalar-empty', safetensors({'s': ('F64', [], b'\0' * 8),
                                                     'e': ('I32', [0], b'')}))
    put('safetensors', 'overlap', safetensors({'a': ('F32', [1], f32[:4])},
                                              {'b': {'dtype': 'F32', 'shape': [1],
                                                     'data_offsets': [0, 4]}}))
    put('safetensors', 'bad-offsets', safetensors({'a': ('F32', [2, 2], f32)}, data=f32[:8]))
    put('safetensors', 'huge-length', struct.pack('<Q', 2**63) + b'{}')
    put('safetensors', 'bf16-bool', safetensors({'w': ('BF16', [3], b'\x80?' * 3),
                                                  'm': ('BOOL', [2], b'\1\0')}))
    # the fixture's header with its data cut short: every tensor named, none there
    raw = fixture('bert-tiny-uncased', 'model.safetensors')
    n = struct.unpack('<Q', raw[:8])[0]
    put('safetensors', 'bert-header-only', raw[:8 + n])


def tokenizer_json_corpus():
    for m in ['gpt2-tiny', 'roberta-tiny']:
        put('tokenizer_json', m, fixture(m, 'tokenizer.json'))
    vocab = {t: i for i, t in enumerate(
        fixture('bert-tiny-uncased', 'vocab.txt').decode().split('\n')) if t}
    wp = {
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'vocab': vocab,
                  'continuing_subword_prefix': '##', 'max_input_chars_per_word': 100},
        'normalizer': {'type': 'BertNormalizer', 'lowercase': True, 'strip_accents': None,
                       'clean_text': True, 'handle_chinese_chars': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': '[CLS]', 'type_id': 0}},
                                      {'Sequence': {'id': 'A', 'type_id': 0}},
                                      {'SpecialToken': {'id': '[SEP]', 'type_id': 0}}],
                           'pair': [{'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'Sequence': {'id': 'B', 'type_id': 1}}],
                           'special_tokens': {'[CLS]': {'id': '[CLS]', 'ids': [vocab['[CLS]']]},
                                              '[SEP]': {'id': '[SEP]', 'ids': [vocab['[SEP]']]}}},
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'added_tokens': [{'id': vocab['[MASK]'], 'content': '[MASK]', 'special': True,
                          'lstrip': True, 'rstrip': True},
                         {'id': len(vocab), 'content': 'hello', 'single_word': True},
                         {'id': len(vocab) + 1, 'content': 'hel', 'normalized': True}],
    }
    put('tokenizer_json', 'wordpiece', js(wp))
    put('tokenizer_json', 'wordpiece-bert-processing',
        js(dict(wp, post_processor={'type': 'BertProcessing', 'sep': ['[SEP]', vocab['[SEP]']],
                                    'cls': ['[CLS]', vocab['[CLS]']]})))
    bl = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True}
    bpe = {'model': {'type': 'BPE', 'vocab': {'a': 0, 'b': 1, 'ab': 2, '\u0120': 3},
                     'merges': [['a', 'b']]},
           'pre_tokenizer': bl, 'decoder': bl, 'post_processor': bl,
           'added_tokens': [{'id': 4, 'content': '<x>', 'special': True, 'lstrip': True}]}
    put('tokenizer_json', 'bpe-pairs', js(bpe))
    put('tokenizer_json', 'int32-max-vocab',
        js(dict(bpe, model=dict(bpe['model'], vocab={'a': 2147483647}, merges=[]))))
    put('tokenizer_json', 'int32-max-added',
        js(dict(bpe, added_tokens=[{'id': 2147483647, 'content': 'x'}])))
    put('tokenizer_json', 'many-added',
        js(dict(bpe, added_tokens=[{'id': 5 + i, 'content': '<t%d>' % i, 'special': i % 2 == 0}
                                   for i in range(300)])))


def vocab_txt_corpus():
    for m in ['bert-tiny-uncased', 'bert-tiny-cased']:
        put('vocab_txt', m, fixture(m, 'vocab.txt') + b'\0' + fixture(m, 'tokenizer_config.json'))
    put('vocab_txt', 'cased', fixture('tokenizers', 'cased', 'vocab.txt') + b'\0' +
        fixture('tokenizers', 'cased', 'tokenizer_config.json'))
    put('vocab_txt', 'crlf-no-unk', b'a\r\nb\r\n##b\r\n')
    put('vocab_txt', 'named-tokens', b'[UNK]\nx\n\0' + js({
        'do_lower_case': False, 'unk_token': {'content': '[UNK]'}, 'cls_token': '<c>',
        'sep_token': '<s>', 'mask_token': '<m>', 'pad_token': '[UNK]'}))


def bpe_files_corpus():
    put('bpe_files', 'gpt2-tiny', fixture('gpt2-tiny', 'vocab.json') + b'\0' +
        fixture('gpt2-tiny', 'merges.txt'))
    put('bpe_files', 'roberta-tiny', fixture('roberta-tiny', 'vocab.json') + b'\0' +
        fixture('roberta-tiny', 'merges.txt'))
    put('bpe_files', 'int32-max', b'{"a": 2147483647, "b": 0}\0#version: 0.2\n')
    put('bpe_files', 'small', js({'a': 0, 'b': 1, 'ab': 2, '<|endoftext|>': 3}) +
        b'\0#version: 0.2\r\na b\r\n')


def tokenizer_config_corpus():
    for m in ['gpt2-tiny', 'roberta-tiny']:
        put('tokenizer_config', m, fixture(m, 'tokenizer_config.json') + b'\0' +
            fixture(m, 'special_tokens_map.json') + b'\0' + fixture(m, 'config.json'))
    put('tokenizer_config', 'bert', fixture('bert-tiny-uncased', 'tokenizer_config.json'))
    put('tokenizer_config', 'added-decoder', js({
        'added_tokens_decoder': {'2147483647': {'content': 'q', 'special': True},
                                 '300': {'content': '<x>', 'lstrip': True, 'rstrip': True,
                                         'single_word': True, 'normalized': True}},
        'eos_token': 'zz', 'additional_special_tokens': ['<a>', {'content': '<b>'}]}))
    put('tokenizer_config', 'roberta-class', js({'tokenizer_class': 'RobertaTokenizerFast',
                                                 'mask_token': {'content': '<mask>',
                                                                'lstrip': False}}) +
        b'\0' + js({'cls_token': '<nope>'}) + b'\0' + js({'model_type': 'roberta'}))


def modules_corpus():
    for m in ['st-dense', 'st-mean', 'st-multi', 'st-cls', 'st-old']:
        d = os.path.join(FIX, m)
        pool = os.path.join(d, '1_Pooling', 'config.json')
        sbc = os.path.join(d, 'sentence_bert_config.json')
        parts = [fixture(m, 'modules.json'),
                 open(pool, 'rb').read() if os.path.exists(pool) else b'',
                 open(sbc, 'rb').read() if os.path.exists(sbc) else b'']
        put('modules', m, b'\0'.join(parts))
    put('modules', 'escape', js([{'idx': 0, 'name': '0', 'path': '../..',
                                  'type': 'sentence_transformers.models.Pooling'},
                                 {'idx': 1, 'path': '/etc', 'type': 'x'}]))


def elmo_options_corpus():
    for m in ['elmo-skip', 'elmo-tanh', 'elmo-3layer']:
        put('elmo_options', m, fixture(m, 'options.json'))
    opts = json.loads(fixture('elmo-skip', 'options.json'))
    opts['char_cnn']['filters'] = [[0, 4], [2 ** 31, 8]]
    opts['lstm']['n_layers'] = 0
    put('elmo_options', 'bad-filters', js(opts))


def shard_index_corpus():
    raw = fixture('bert-tiny-sharded', 'model.safetensors.index.json')
    put('shard_index', 'bert-tiny-sharded', raw)
    idx = json.loads(raw)
    first = next(iter(idx['weight_map']))
    for name, shard in {'traversal': '../model.safetensors', 'absolute': '/etc/passwd',
                        'missing': 'model-00009-of-00009.safetensors',
                        'wrong-shard': 'model-00002-of-00002.safetensors'}.items():
        put('shard_index', name, js(dict(idx, weight_map=dict(idx['weight_map'],
                                                              **{first: shard}))))
    put('shard_index', 'not-strings', js({'weight_map': {'a': 1, 'b': None}}))


def encode_corpus():
    texts = [b'Hello, world! [CLS] [MASK] unaffable', 'caf\u00e9 \u4e2d\u6587 \U0001F600 x\u0301'
             .encode(), b'<s> <mask> </s> <|endoftext|>  spaces\t\n', b'a\0b pair',
             b'<m> <m M> \xc3\xa9t\xc3\xa9 ab abab  <m>', b'\xff\xfe invalid']
    for k in range(6):
        for i, t in enumerate(texts):
            put('encode', f'{k}-{i}', bytes([k, (i * 9) & 0xff]) + t)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for make in [json_corpus, config_corpus, safetensors_corpus, tokenizer_json_corpus,
                 vocab_txt_corpus, bpe_files_corpus, tokenizer_config_corpus, modules_corpus,
                 elmo_options_corpus, shard_index_corpus, encode_corpus]:
        make()
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f'{OUT}: {total} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
