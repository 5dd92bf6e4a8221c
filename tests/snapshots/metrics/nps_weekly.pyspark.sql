SELECT
  DATE_TRUNC('week', `t1`.`period`) AS `week`,
  COUNT(*) AS `n`,
  SUM(IF(`t1`.`value` >= 9, 1, 0)) AS `promoters`,
  SUM(IF(`t1`.`value` <= 6, 1, 0)) AS `detractors`
FROM (
  SELECT
    *
  FROM `outcomes` AS `t0`
  WHERE
    `t0`.`outcome` = 'nps'
    AND (
      `t0`.`value` IS NOT NULL AND NOT ISNAN(`t0`.`value`)
    )
) AS `t1`
GROUP BY
  1
