"""CareBench's analysis on Apache Spark: the same functions, one brand group per task.

The analysis is partitioned by brand (see `carebench.benchmark.incremental`): a
conversation belongs to its tree's brand, and every brand post also to its own brand's
group. So Spark prepares the posts over all of them (dedupe, brand config, tree roots
and tree brands, group keys, packing of small brands into one task), and each task runs
CareBench's own `analyse` on its groups' posts and writes the rows of those groups.

Nothing here imports pyspark at module import: CareBench works without it, and only
`carebench spark ...` needs `pip install carebench[spark]` and a Java runtime.
"""
