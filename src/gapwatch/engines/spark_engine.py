"""Apache Spark behind the :class:`~gapwatch.ports.Engine` interface (``pip install gapwatch[spark]``).

Local mode (``local[N]``) on one machine, a cluster through ``--spark-master`` (a ``spark://``,
``yarn`` or ``k8s://`` master, or ``sc://`` for Spark Connect). Every query arrives as DuckDB
SQL and runs as the Spark SQL :func:`~gapwatch.engines.dialect.to_spark` makes of it, so
mapping, validation, keys, scoring and dedupe are the embedded engine's own definitions.

The session is set up so that both engines compute the same values: the workspace time zone
for naive times and periods, JSON that keeps null fields, Parquet timestamps as UTC
microseconds (as DuckDB writes them), and input files read by Spark on the executors with
their row numbers (the reject's ``row_number`` and the order that decides which of two
copies of an event is kept).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from gapwatch.engines.dialect import to_spark

__all__ = ["SparkEngine", "spark_session"]

ROW = "__gw_row"
# What the session must hold for the two engines to agree (see the module docstring).
SESSION_CONF = {
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.shuffle.partitions": "8",
    # a lake has a folder per period: list them on the driver rather than in a job of its own
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
}


def spark_session(master: str = "local[2]", timezone: str = "UTC", app: str = "gapwatch") -> Any:
    """A Spark session for gapwatch (created, or the active one reconfigured)."""
    from pyspark.sql import SparkSession

    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        builder = (
            SparkSession.builder.master(master)
            .appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", os.environ.get("GAPWATCH_SPARK_DRIVER_MEMORY", "1g"))
        )
    spark = builder.getOrCreate()
    if not master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
        _quiet_codegen(spark)
    for key, value in {**SESSION_CONF, "spark.sql.session.timeZone": timezone}.items():
        spark.conf.set(key, value)
    return spark


def _quiet_codegen(spark: Any) -> None:
    """Silence the whole-stage code generator's failures on the mapping's wide expressions.

    Past Java's 64 KB method limit Spark logs the generated class and runs the stage without
    whole-stage code generation; the answer is the same, the screen of Java is noise.
    """
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.logging.log4j.Level.OFF
    for logger in (
        "org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator",
        "org.apache.spark.sql.execution.WholeStageCodegenExec",
    ):
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(logger, level)


class SparkEngine:
    """Spark SQL on one session; relations are temp views, materialised ones persisted."""

    name = "spark"

    def __init__(self, spark: Any = None, *, master: str = "local[2]", timezone: str = "UTC") -> None:
        self.timezone = timezone
        self.spark = spark if spark is not None else spark_session(master, timezone)
        self.spark.conf.set("spark.sql.session.timeZone", timezone)
        for key, value in SESSION_CONF.items():
            self.spark.conf.set(key, value)
        self._persisted: dict[str, Any] = {}

    def sql(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The DataFrame of a DuckDB query (rewritten for Spark)."""
        args = {k: (bytearray(v) if isinstance(v, bytes) else v) for k, v in (params or {}).items()}
        return self.spark.sql(to_spark(sql), args=args or None)

    # -- relations ---------------------------------------------------------------------------
    def read_input(self, name: str, path: Path, fmt: str, chunks: Iterable[pa.Table]) -> list[str]:
        """Read the file on the executors: every column as text, rows numbered as gapwatch's reader does."""
        del chunks  # Spark reads the file itself, split across executors
        from pyspark.sql import functions as F

        reader = self.spark.read
        if fmt == "csv":
            # multiLine: a quoted cell may hold a newline (the file is then read by one task)
            df = reader.options(
                header=True,
                multiLine=True,
                escape='"',
                mode="PERMISSIVE",
                inferSchema=False,
                encoding="UTF-8",
            ).csv(str(path))
            df = _numbered(df, first=2)
        elif fmt == "parquet":
            df = reader.parquet(str(path))
            df = df.select(
                *[F.col(f"`{c}`").cast("string") for c in df.columns], F.col("_metadata.row_index")
            )
            df = df.withColumn(ROW, F.col("row_index") + 1).drop("row_index")
        else:
            df = _numbered(reader.text(str(path)).withColumnRenamed("value", "__gw_line"), first=1)
            df = df.filter(~F.col("__gw_line").rlike(r"^(?U)\s*$"))  # blank lines, as gapwatch's reader
        df = _persist(df)
        df.createOrReplaceTempView(name)
        self._persisted[name] = df
        return [c for c in df.columns if c != ROW]

    def load_arrow(self, name: str, table: pa.Table) -> None:
        df = self.spark.createDataFrame(table) if table.num_rows else self._empty(table.schema)
        df.createOrReplaceTempView(name)

    def _empty(self, schema: pa.Schema) -> Any:
        from pyspark.sql.pandas.types import from_arrow_schema

        return self.spark.createDataFrame([], from_arrow_schema(schema))

    def load_parquet(self, name: str, folder: Path, schema: pa.Schema) -> None:
        if not any(folder.glob("**/*.parquet")):
            self._empty(schema).createOrReplaceTempView(name)
            return
        self.spark.read.option("basePath", str(folder)).parquet(str(folder)).createOrReplaceTempView(name)

    def create(
        self, name: str, sql: str, params: Mapping[str, Any] | None = None, *, materialise: bool = True
    ) -> None:
        self.drop(name)
        df = self.sql(sql, params)
        if materialise:
            df = _persist(df)
            df.count()  # materialised once: later reads must see the same rows
            self._persisted[name] = df
        df.createOrReplaceTempView(name)

    # -- results -----------------------------------------------------------------------------
    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        table: pa.Table = self.sql(sql, params).toArrow()
        return table

    def write_parquet(self, sql: str, folder: Path, partition: str) -> None:
        # one file per period and run, not one per task and period (a lake of small files is slow to read)
        df = self.sql(sql)
        df.repartition(partition).write.mode("append").partitionBy(partition).parquet(str(folder))

    def ibis_table(self, name: str) -> Any:
        import ibis

        return ibis.pyspark.connect(self.spark).table(name)

    def run_ibis(self, expr: Any) -> pa.Table:
        """The expression's Spark SQL, run straight to Arrow (Ibis's own path goes through pandas)."""
        import ibis

        table: pa.Table = self.spark.sql(str(ibis.to_sql(expr, dialect="pyspark"))).toArrow()
        return table

    def drop(self, *names: str) -> None:
        for name in names:
            df = self._persisted.pop(name, None)
            if df is not None:
                df.unpersist()
            self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        self.drop(*list(self._persisted))

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _persist(df: Any) -> Any:
    """Materialised on the executors' disks, not their heaps.

    A relation gapwatch materialises is read a few times in a row (the stage, the current
    experiences of a lake); at the default level a block evicted to disk is read back into
    memory whole, and 10M lake rows in local mode ran out of a 1 GiB heap that way (measured).
    """
    from pyspark import StorageLevel

    return df.persist(StorageLevel.DISK_ONLY)


def _numbered(df: Any, first: int) -> Any:
    """Rows numbered in file order from ``first``: a partition's offset plus the row's place in it.

    ``monotonically_increasing_id`` holds the partition in its upper 31 bits and the row's
    place in the lower 33; the splits of one file are partitions in file order.
    """
    from pyspark.sql import functions as F

    mono = F.monotonically_increasing_id()
    if df.rdd.getNumPartitions() == 1:  # one file read whole (a CSV with quoted newlines): no count needed
        return df.withColumn(ROW, mono + first)
    df = df.withColumn("__gw_mono", mono).withColumn("__gw_part", F.spark_partition_id())
    counts = sorted(df.groupBy("__gw_part").count().collect(), key=lambda r: r["__gw_part"])
    offsets: dict[int, int] = {}
    total = 0
    for r in counts:
        offsets[int(r["__gw_part"])] = total
        total += int(r["count"])
    offset = F.create_map(*[F.lit(x) for kv in offsets.items() for x in kv]) if offsets else F.lit(None)
    place = F.col("__gw_mono") - F.shiftleft(F.col("__gw_part").cast("long"), 33)
    start = offset[F.col("__gw_part")] if offsets else F.lit(0)
    return df.withColumn(ROW, start + place + first).drop("__gw_mono", "__gw_part")
