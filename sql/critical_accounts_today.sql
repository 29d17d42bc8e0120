-- Today's critical accounts, and why.
--
-- "Today" is the latest score_date published in risk.account_scores_daily (the pipeline's
-- latest scored day, not the wall clock). One row per account in the `critical` band, riskiest
-- first: its score, the reasons in words (most important first), the cluster it belongs to and
-- what ties that cluster together, and the model version that scored it.
--
-- Run: riskctl sql --lake DIR "$(cat sql/critical_accounts_today.sql)"
--      beeline -u jdbc:hive2://localhost:10000/risk -f sql/critical_accounts_today.sql
WITH today AS (SELECT max(score_date) AS d FROM risk.account_scores_daily)
SELECT s.account_id,
       s.score_date,
       round(s.risk_score, 4)              AS risk_score,
       array_join(s.reasons, '; ')         AS reasons,
       s.cluster_id,
       c.n_accounts                        AS cluster_size,
       array_join(c.link_types, ', ')      AS cluster_linked_by,
       s.model_name,
       s.model_version
FROM risk.account_scores_daily s
JOIN today ON s.score_date = today.d
LEFT JOIN risk.account_clusters_daily c
       ON c.cluster_id = s.cluster_id AND c.score_date = s.score_date
WHERE s.risk_band = 'critical'
ORDER BY s.risk_score DESC, s.account_id;
