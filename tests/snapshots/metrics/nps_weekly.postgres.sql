SELECT
  DATE_TRUNC('WEEK', "t1"."period") AS "week",
  COUNT(*) AS "n",
  SUM(CASE WHEN "t1"."value" >= 9 THEN 1 ELSE 0 END) AS "promoters",
  SUM(CASE WHEN "t1"."value" <= 6 THEN 1 ELSE 0 END) AS "detractors"
FROM (
  SELECT
    *
  FROM "outcomes" AS "t0"
  WHERE
    "t0"."outcome" = 'nps' AND "t0"."value" IS NOT NULL
) AS "t1"
GROUP BY
  1
