-- Accounts that turned high risk in the last 3 days.
--
-- The last 3 days are today (the latest score_date in risk.account_scores_daily) and the two
-- days before. An account "turned" on a day when its band was `high` or `critical` and, on the
-- day it was last scored before, it was `low` or `medium` or not scored at all
-- (previous_band '(not scored)': a new or newly active account). Latest turn first.
--
-- Run: riskctl sql --lake DIR "$(cat sql/turned_high_risk_last_3_days.sql)"
WITH today AS (SELECT max(score_date) AS d FROM risk.account_scores_daily),
banded AS (
  SELECT s.*,
         lag(s.risk_band)  OVER (PARTITION BY s.account_id ORDER BY s.score_date) AS previous_band,
         lag(s.score_date) OVER (PARTITION BY s.account_id ORDER BY s.score_date) AS previous_date
  FROM risk.account_scores_daily s
)
SELECT b.account_id,
       b.score_date                                AS turned_on,
       coalesce(b.previous_band, '(not scored)')   AS previous_band,
       b.previous_date,
       b.risk_band,
       round(b.risk_score, 4)                      AS risk_score,
       array_join(b.reasons, '; ')                 AS reasons,
       b.cluster_id
FROM banded b
JOIN today ON b.score_date BETWEEN date_sub(today.d, 2) AND today.d
WHERE b.risk_band IN ('high', 'critical')
  AND (b.previous_band IS NULL OR b.previous_band NOT IN ('high', 'critical'))
ORDER BY turned_on DESC, b.risk_score DESC, b.account_id;
