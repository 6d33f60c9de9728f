"""Reference features of a CDR/GDA `.data` file, as the reference ATLOP `read_cdr`/`read_gda`
build them, written as JSON lines for comparison with `atlop`'s featurizer.

  pip install tokenizers
  python scripts/ref_bio_features.py MODEL_DIR FILE.data OUT.jsonl

Uses the `tokenizers` package on MODEL_DIR/tokenizer.json (a BERT-style model: `[CLS]`/`[SEP]`).
One line per kept document: {"title", "input_ids", "entity_pos", "hts", "labels"} where
entity_pos holds each mention's start offset and labels the multi-hot rows [NA, relation].
"""
import json
import sys

from tokenizers import Tokenizer


def chunks(fields, n):
    assert len(fields) % n == 0
    return [fields[i:i + n] for i in range(0, len(fields), n)]


def main(model_dir, data_file, out_file, max_len=1024):
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_truncation()
    tok.no_padding()
    tokenize = lambda w: tok.encode(w, add_special_tokens=False).tokens
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    pmids, out = set(), open(out_file, "w")
    for line in open(data_file):
        line = line.rstrip().split("\t")
        pmid = line[0]
        if pmid in pmids:
            continue
        pmids.add(pmid)
        prs = chunks(line[2:], 17)
        spans = set()
        for p in prs:
            for s, e, ty in ((8, 9, 7), (14, 15, 13)):
                for a, b in zip(map(int, p[s].split(":")), map(int, p[e].split(":"))):
                    spans.add((a, b, p[ty]))
        pieces, word_map, i_t = [], {}, 0
        for sent in line[1].split("|"):
            for word in sent.split(" "):
                wp = tokenize(word)
                for a, b, _ in list(spans):
                    if i_t == a:
                        wp = ["*"] + wp
                    if i_t + 1 == b:
                        wp = wp + ["*"]
                word_map[i_t] = len(pieces)
                pieces.extend(wp)
                i_t += 1
            word_map[i_t] = len(pieces)
        ent2idx, entity_pos, triples = {}, [], {}
        for p in prs:
            if p[0] == "not_include":
                continue
            if p[1] == "L2R":
                h, t, hs, ts = p[5], p[11], p[8], p[14]
            else:
                h, t, hs, ts = p[11], p[5], p[14], p[8]
            for eid, starts in ((h, hs), (t, ts)):
                if eid not in ent2idx:
                    ent2idx[eid] = len(ent2idx)
                    entity_pos.append([word_map[int(x)] for x in starts.split(":")])
            r = 0 if p[0] == "1:NR:2" else 1
            triples.setdefault((ent2idx[h], ent2idx[t]), []).append(r)
        if not triples:
            continue
        hts = [list(k) for k in triples]
        labels = [[int(0 in v), int(1 in v)] for v in triples.values()]
        ids = [cls] + [tok.token_to_id(x) for x in pieces[: max_len - 2]] + [sep]
        out.write(json.dumps({"title": pmid, "input_ids": ids, "entity_pos": entity_pos,
                              "hts": hts, "labels": labels}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
