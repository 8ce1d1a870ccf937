"""The file `spark-submit` runs: `carebench spark` with the arguments given after it.

    spark-submit [spark options] carebench/spark/submit.py analyse POSTS -o OUT

spark-submit takes a Python file, not a console script; this one is the same command.
"""

from __future__ import annotations

if __name__ == "__main__":
    from carebench.spark.cli import spark_app

    spark_app(prog_name="carebench spark")
