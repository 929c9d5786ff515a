"""What sentence_first costs the embedder, against the raw chunk pass, on rag bench's records.

    python benchmarks/profiles/sentence_first_embed.py [n_chunks] [batch sizes, e.g. 8,32]

Times (wall, best of 2): the raw pass over the chunk texts (what `rag bench` calls raw), and
the sentence_first pass (distinct sentences + headers, shortest first) at each ONNX batch size.
"""
import os
import sys
import time

from benchmarks.scale import records
from rag.embeddings import OnnxMiniLM
from rag.ingest import _Batch, _sentence_first_parts, chunk_records, node_chunk
from rag.sentences import SentenceAnalyzer
from rag.settings import Settings


def best_of(fn, n=2):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(n_chunks: int, sizes: list[int]) -> None:
    from llama_index.core.schema import MetadataMode

    emb = OnnxMiniLM()
    recs = records(n_chunks)
    nodes = chunk_records(Settings(), emb, recs)
    chunks = [node_chunk(n) for n in nodes]
    sents = SentenceAnalyzer().analyze(chunks)
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    parts, _ = _sentence_first_parts(texts, _Batch(recs, [], nodes, len(recs), chunks, sents))
    first = sorted(parts.values(), key=len)
    pieces = sum(emb.count_tokens(t) for t in first)
    print(f"load {os.getloadavg()}; {len(nodes)} chunks ({sum(emb.count_tokens(n.text) for n in nodes)} pieces),"
          f" {len(first)} sentence_first texts ({pieces} pieces)")
    raw = best_of(lambda: emb.embed([n.text for n in nodes]))
    print(f"raw chunk pass, batch {emb.batch_size}: {raw:.2f} s")
    for b in sizes:
        emb.batch_size = b
        t = best_of(lambda: emb.embed(first))
        print(f"sentence_first pass, batch {b}: {t:.2f} s = {raw / t:.2f} of raw")
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300,
         [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "8,16,32").split(",")])
