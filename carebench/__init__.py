"""CareBench: benchmark how brands answer customers in public."""

import os

__version__ = "0.1.0"

# Arrow's memory pool (mimalloc) commits its arenas eagerly by default, which on Linux
# with transparent huge pages in "madvise" mode means a 2 MB page fault with synchronous
# compaction per 2 MB of fresh memory: copying 0.34 GB of columns took 0.88 s of system
# time instead of 0.16 s, and a 2.8M-post pipeline spent 11-17 s in the kernel instead
# of 9-11 s. Committing on demand takes ordinary page faults. mimalloc reads this when
# pyarrow loads, so it only takes effect where carebench is imported before pyarrow
# (the `carebench` command, the benchmarks); an explicit setting is left alone.
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
