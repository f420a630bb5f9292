"""The plain scripts `make bench` measures losscli against: what a user would write by hand.

Each takes the data file as its only argument and prints the mean squared error (or the mean
softmax cross-entropy), so every program does the same work as the losscli command it is
compared with, minus everything losscli adds (checks, gradient summary, messages).
"""

FLOOR_PARQUET = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=1 << 20, columns=["pred", "target"]):
    r = batch.column(0).to_numpy() - batch.column(1).to_numpy()
    total += float(np.einsum("i,i->", r, r)); n += r.size
print(total / n)
"""
# The floor without pyarrow's to_numpy (which imports pandas, ~0.2 s) and without Parquet
# read-ahead: the fastest a script can stream this file; shown for honesty, not as the baseline.
FLOOR_RAW_PARQUET = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
batches = pq.ParquetFile(sys.argv[1], pre_buffer=False).iter_batches(batch_size=1 << 20, columns=["pred", "target"])
for batch in batches:
    r = np.frombuffer(batch.column(0).buffers()[1]) - np.frombuffer(batch.column(1).buffers()[1])
    total += float(np.einsum("i,i->", r, r)); n += r.size
print(total / n)
"""
# The CSV baseline of issue 17: the whole file through pandas' C parser, then NumPy.
PANDAS = """
import sys, numpy as np, pandas as pd
frame = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pd.read_csv(sys.argv[1], engine="c")
r = frame["pred"].to_numpy() - frame["target"].to_numpy()
print(np.mean(r * r))
"""
ARROW_CSV = """
import sys, numpy as np, pyarrow.csv as pc
table = pc.read_csv(sys.argv[1])
r = table.column("pred").to_numpy() - table.column("target").to_numpy()
print(np.mean(r * r))
"""
POLARS_CSV = """
import sys, numpy as np, polars as pl
frame = pl.read_csv(sys.argv[1])
r = frame["pred"].to_numpy() - frame["target"].to_numpy()
print(np.mean(r * r))
"""
TORCH_MSE = """
import sys, torch, pyarrow.parquet as pq, pyarrow.csv as pc
table = pq.read_table(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pc.read_csv(sys.argv[1])
pred = torch.from_numpy(table.column("pred").to_numpy()); target = torch.from_numpy(table.column("target").to_numpy())
print(float(torch.nn.functional.mse_loss(pred, target)))
"""
FLOOR_LOGITS = """
import sys, numpy as np, pyarrow.parquet as pq
total = 0.0; n = 0
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=1 << 18):
    z = np.column_stack([batch.column(i).to_numpy() for i in range(10)])
    y = batch.column(10).to_numpy().astype(np.intp)
    m = z.max(axis=1)
    total += float(np.sum(np.log(np.exp(z - m[:, None]).sum(axis=1)) + m - z[np.arange(len(y)), y])); n += len(y)
print(total / n)
"""
PANDAS_LOGITS = """
import sys, numpy as np, pandas as pd
frame = pd.read_parquet(sys.argv[1])
z = frame[[f"l{i}" for i in range(10)]].to_numpy(); y = frame["label"].to_numpy()
m = z.max(axis=1, keepdims=True); logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
print(-np.mean(logp[np.arange(len(y)), y]))
"""

# Streaming CSV readers considered for losscli (`python benchmarks/run.py --candidates`): each
# reads the file in bounded memory and reduces batch by batch, as losscli must. polars parses a
# block about twice as fast as Arrow but holds the GIL meanwhile, so inside losscli (which
# reduces the previous batch while the next is parsed) it was no faster: Arrow's reader stays.
CANDIDATES = {
    "arrow-blocks": """
import io, sys, numpy as np, pyarrow.csv as pc
total = 0.0; n = 0
with open(sys.argv[1], "rb") as f:
    header = f.readline(); rest = b""
    while block := f.read(1 << 24):
        data = rest + block; cut = data.rfind(b"\\n") + 1; rest = data[cut:]
        t = pc.read_csv(io.BytesIO(header + data[:cut]))
        r = t.column(0).to_numpy() - t.column(1).to_numpy(); total += float(r @ r); n += r.size
print(total / n)
""",
    "arrow-stream": """
import sys, numpy as np, pyarrow.csv as pc
total = 0.0; n = 0
for batch in pc.open_csv(sys.argv[1], read_options=pc.ReadOptions(block_size=1 << 24)):
    r = batch.column(0).to_numpy() - batch.column(1).to_numpy(); total += float(r @ r); n += r.size
print(total / n)
""",
    "polars-streaming": """
import sys, numpy as np, polars as pl
total = 0.0; n = 0
for frame in pl.scan_csv(sys.argv[1]).collect_batches(chunk_size=1 << 20, engine="streaming"):
    r = frame["pred"].to_numpy() - frame["target"].to_numpy(); total += float(r @ r); n += r.size
print(total / n)
""",
    "polars-blocks": """
import io, sys, numpy as np, polars as pl
total = 0.0; n = 0
with open(sys.argv[1], "rb") as f:
    header = f.readline(); rest = b""
    while block := f.read(1 << 24):
        data = rest + block; cut = data.rfind(b"\\n") + 1; rest = data[cut:]
        frame = pl.read_csv(io.BytesIO(header + data[:cut]))
        r = frame["pred"].to_numpy() - frame["target"].to_numpy(); total += float(r @ r); n += r.size
print(total / n)
""",
    "pandas-chunks": """
import sys, numpy as np, pandas as pd
total = 0.0; n = 0
for frame in pd.read_csv(sys.argv[1], chunksize=1 << 20, engine="c"):
    r = frame["pred"].to_numpy() - frame["target"].to_numpy(); total += float(r @ r); n += r.size
print(total / n)
""",
    "duckdb": """
import sys, duckdb
print(duckdb.sql(f"select avg((pred - target) * (pred - target)) from read_csv('{sys.argv[1]}')").fetchall()[0][0])
""",
}
