-- How one account's score moved: every scored day of one account, oldest first, with the
-- change since its previous scored day, its band, reasons and cluster.
--
-- Parameter ${account_id} (Spark variable substitution). When it is not set, the query shows
-- today's riskiest account. Set it with:
--   beeline:     beeline -u jdbc:hive2://localhost:10000/risk --hivevar account_id=ACCOUNT
--                        -f sql/account_score_history.sql
--   any client:  run `SET account_id=ACCOUNT` in the same session first (beeline, PyHive,
--                DBeaver...), then this query
--   riskctl sql: riskctl sql --lake DIR "SET account_id=ACCOUNT; $(cat sql/account_score_history.sql)"
WITH params AS (SELECT nullif(trim('${account_id}'), '') AS requested),
today AS (SELECT max(score_date) AS d FROM risk.account_scores_daily),
riskiest AS (
  SELECT s.account_id FROM risk.account_scores_daily s JOIN today ON s.score_date = today.d
  ORDER BY s.risk_score DESC, s.account_id LIMIT 1
),
chosen AS (
  SELECT coalesce(p.requested, r.account_id) AS account_id FROM params p CROSS JOIN riskiest r
)
SELECT s.account_id,
       s.score_date,
       round(s.risk_score, 4)                                                   AS risk_score,
       round(s.risk_score - lag(s.risk_score) OVER (ORDER BY s.score_date), 4) AS change,
       s.risk_band,
       array_join(s.reasons, '; ')                                              AS reasons,
       s.cluster_id,
       s.model_version
FROM risk.account_scores_daily s
JOIN chosen ON s.account_id = chosen.account_id
ORDER BY s.score_date;
