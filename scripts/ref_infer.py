"""Encoder inference speed of the PyTorch reference, the counterpart of `atlop bench infer`.

Featurizes the documents with the reference's own code (`ref_atlop.py` in ../shared/reference),
sorts them by length, and times `encode_batch` (windows over 512 tokens as the reference does,
last-layer attentions returned) under `torch.no_grad()` in batches, end to end. With `--head`
it also runs the reference's ATLOP head on every entity pair (logsumexp pooling, localized
context, extractors, group bilinear; emb = hidden, block 64, random weights): the counterpart of
`atlop predict`, less decisions and output.

  python scripts/ref_infer.py --reference ../shared/reference --model models/all-MiniLM-L6-v2 \
      --data ../shared/data/redocred/dev_revised.json [--batch 4] [--threads 2] [--docs N] [--head]

Prints `ref_docs_per_s=<x> docs=<n> tokens=<t> seconds=<s> threads=<k>` as its last line.
"""
import argparse
import json
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reference", required=True, help="folder holding ref_atlop.py")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="DocRED-format json")
    p.add_argument("--rel2id", help="rel2id.json (default: beside the data, then ../docred/)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--docs", type=int)
    p.add_argument("--head", action="store_true", help="also run the ATLOP head on every pair")
    a = p.parse_args()

    sys.path.insert(0, a.reference)
    import torch
    import ref_atlop

    torch.set_num_threads(a.threads)
    tok, model = ref_atlop.load(a.model)
    model.eval()
    rel2id_path = a.rel2id
    if rel2id_path is None:
        import os
        here = os.path.dirname(os.path.abspath(a.data))
        candidates = [os.path.join(here, "rel2id.json"), os.path.join(here, "..", "docred", "rel2id.json")]
        rel2id_path = next(c for c in candidates if os.path.exists(c))
    rel2id = json.load(open(rel2id_path))
    docs = json.load(open(a.data))
    if a.docs:
        docs = docs[: a.docs]
    feats = sorted((ref_atlop.featurize(d, tok, rel2id) for d in docs), key=lambda f: len(f["ids"]))
    hidden_size = model.config.hidden_size
    head = ref_atlop.Head(hidden_size, emb=hidden_size, block=64, classes=len(rel2id)).eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(feats), a.batch):
            chunk = feats[i : i + a.batch]
            outs = ref_atlop.encode_batch(model, [f["ids"] for f in chunk], tok.cls_token_id, tok.sep_token_id)
            if a.head:
                for (hidden, att), f in zip(outs, chunk):
                    _, hs, ts, context, _ = head.pair_inputs(hidden, att, f["entity_pos"], f["hts"])
                    head(hs, ts, context)
    seconds = time.perf_counter() - start
    tokens = sum(len(f["ids"]) for f in feats)
    pairs = sum(len(f["hts"]) for f in feats)
    print(f"ref_docs_per_s={len(feats) / seconds:.2f} docs={len(feats)} tokens={tokens} pairs={pairs} head={a.head} seconds={seconds:.2f} threads={a.threads}")


if __name__ == "__main__":
    main()
