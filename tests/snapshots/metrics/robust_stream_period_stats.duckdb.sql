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
  COUNT("t1"."gap_norm") AS "n_gap",
  COALESCE(
    SUM(
      CASE
        WHEN "t1"."gap_norm" < -3.0
        THEN -3.0
        ELSE CASE WHEN "t1"."gap_norm" > 3.0 THEN 3.0 ELSE "t1"."gap_norm" END
      END
    ),
    0.0
  ) AS "sum_gap_clip",
  COALESCE(
    SUM(
      CASE
        WHEN "t1"."gap_norm" < -3.0
        THEN -3.0
        ELSE CASE WHEN "t1"."gap_norm" > 3.0 THEN 3.0 ELSE "t1"."gap_norm" END
      END * CASE
        WHEN "t1"."gap_norm" < -3.0
        THEN -3.0
        ELSE CASE WHEN "t1"."gap_norm" > 3.0 THEN 3.0 ELSE "t1"."gap_norm" END
      END
    ),
    0.0
  ) AS "sum_gap_clip2"
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
