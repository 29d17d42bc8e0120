-- The riskiest clusters today, and what ties them.
--
-- Clusters of the latest score_date in risk.account_clusters_daily, by their riskiest member,
-- then by how many members are high risk: size, scores, the members' requests over the last 7
-- days, the kinds of link that join the members (payment, ip_prefix, prompt_simhash, org, ...)
-- and up to 10 members, riskiest first.
--
-- Run: riskctl sql --lake DIR "$(cat sql/riskiest_clusters_today.sql)"
WITH today AS (SELECT max(score_date) AS d FROM risk.account_clusters_daily)
SELECT c.cluster_id,
       c.score_date,
       c.n_accounts,
       c.n_high_risk,
       round(c.max_risk_score, 4)                          AS max_risk_score,
       round(c.mean_risk_score, 4)                         AS mean_risk_score,
       c.requests_7d,
       array_join(c.link_types, ', ')                      AS linked_by,
       array_join(slice(c.sample_accounts, 1, 10), ', ')   AS riskiest_members
FROM risk.account_clusters_daily c
JOIN today ON c.score_date = today.d
ORDER BY c.max_risk_score DESC, c.n_high_risk DESC, c.n_accounts DESC, c.cluster_id
LIMIT 20;
