import sqlite3, sys, time, statistics, os
from rag.text import content_terms
from benchmarks.synth import questions
from benchmarks.scale import pct
db = sys.argv[1]
conn = sqlite3.connect(db)
qs = questions(200)[100:160]
def run(label, fn, setup=None):
    if setup: setup()
    ts = []
    for q in qs:
        terms = list(dict.fromkeys(content_terms(q)))
        if not terms: continue
        t = time.perf_counter(); fn(terms); ts.append(time.perf_counter() - t)
    print(f"{label:40s} p50 {statistics.median(ts)*1e3:6.1f} p95 {pct(ts,.95)*1e3:6.1f} ms  load {os.getloadavg()[0]:.1f}")
def cur(terms):
    m = " OR ".join(f'"{t}"' for t in terms)
    conn.execute("SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT 60", (m,)).fetchall()
def count(terms):
    m = " OR ".join(f'"{t}"' for t in terms)
    conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (m,)).fetchall()
def rowids(terms):
    m = " OR ".join(f'"{t}"' for t in terms)
    conn.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (m,)).fetchall()
run("current (rank LIMIT 60)", cur)
run("current again", cur)
run("count(*) of matches (no ranking)", count)
run("rowids of matches (no ranking)", rowids)
run("cache 64MB, mmap 512MB", cur, lambda: (conn.execute("PRAGMA cache_size=-65536"), conn.execute("PRAGMA mmap_size=536870912")))
run("cache 64MB, mmap 512MB again", cur)
# match counts
n = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
tot = []
for q in qs[:60]:
    terms = list(dict.fromkeys(content_terms(q)))
    if not terms: continue
    dfs = [ (conn.execute("SELECT doc FROM chunks_vocab WHERE term=?", (t,)).fetchone() or [0])[0] for t in terms]
    tot.append((sum(dfs), len(terms), max(dfs)))
print("N", n, "sum df p50", statistics.median(x[0] for x in tot), "p95", pct([x[0] for x in tot], .95), "terms p50", statistics.median(x[1] for x in tot))
