SELECT
  "t3"."moment",
  '*' AS "segment",
  "t3"."metric",
  "t3"."period",
  "t3"."n",
  "t3"."missed",
  "t3"."exceeded",
  "t3"."sum_gap_norm",
  "t3"."sum_gap_norm2",
  "t3"."sum_value",
  "t3"."sum_value2",
  "t3"."n_gap"
FROM (
  SELECT
    "t2"."moment",
    "t2"."metric",
    "t2"."period",
    SUM("t2"."n") AS "n",
    SUM("t2"."missed") AS "missed",
    SUM("t2"."exceeded") AS "exceeded",
    SUM("t2"."sum_gap_norm") AS "sum_gap_norm",
    SUM("t2"."sum_gap_norm2") AS "sum_gap_norm2",
    SUM("t2"."sum_value") AS "sum_value",
    SUM("t2"."sum_value2") AS "sum_value2",
    SUM("t2"."n_gap") AS "n_gap"
  FROM (
    SELECT
      "t1"."moment",
      "t1"."segment",
      "t1"."metric",
      "t1"."period",
      COUNT(*) AS "n",
      COALESCE(SUM(CASE WHEN "t1"."status" = -1 THEN 1 ELSE 0 END), 0) AS "missed",
      COALESCE(SUM(CASE WHEN "t1"."status" = 1 THEN 1 ELSE 0 END), 0) AS "exceeded",
      COALESCE(SUM("t1"."gap_norm"), 0.0) AS "sum_gap_norm",
      COALESCE(SUM("t1"."gap_norm" * "t1"."gap_norm"), 0.0) AS "sum_gap_norm2",
      COALESCE(SUM("t1"."value"), 0.0) AS "sum_value",
      COALESCE(SUM("t1"."value" * "t1"."value"), 0.0) AS "sum_value2",
      COUNT("t1"."gap_norm") AS "n_gap"
    FROM (
      SELECT
        *
      FROM "experiences" AS "t0"
      WHERE
        "t0"."status" IS NOT NULL
    ) AS "t1"
    GROUP BY
      1,
      2,
      3,
      4
  ) AS "t2"
  GROUP BY
    1,
    2,
    3
) AS "t3"
