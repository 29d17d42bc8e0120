-- The clusters that grew most this week.
--
-- For every cluster present today (the latest score_date in risk.account_clusters_daily), its
-- size today against its size on its first day in the 7 days before today; a cluster that did
-- not exist then counts from 0 (compared_with is NULL). Only clusters that grew, most growth
-- first, then the most high-risk members. Cluster ids stay stable while most members persist.
--
-- Run: riskctl sql --lake DIR "$(cat sql/clusters_grew_most_this_week.sql)"
WITH today AS (SELECT max(score_date) AS d FROM risk.account_clusters_daily),
now AS (
  SELECT c.* FROM risk.account_clusters_daily c JOIN today ON c.score_date = today.d
),
week AS (
  SELECT c.cluster_id, c.score_date, c.n_accounts,
         row_number() OVER (PARTITION BY c.cluster_id ORDER BY c.score_date) AS nth
  FROM risk.account_clusters_daily c
  JOIN today ON c.score_date BETWEEN date_sub(today.d, 7) AND date_sub(today.d, 1)
)
SELECT now.cluster_id,
       w.score_date                                      AS compared_with,
       coalesce(w.n_accounts, 0)                         AS accounts_then,
       now.n_accounts                                    AS accounts_today,
       now.n_accounts - coalesce(w.n_accounts, 0)        AS growth,
       now.n_high_risk,
       round(now.max_risk_score, 4)                      AS max_risk_score,
       array_join(now.link_types, ', ')                  AS linked_by,
       array_join(slice(now.sample_accounts, 1, 5), ', ') AS riskiest_members
FROM now
LEFT JOIN week w ON w.cluster_id = now.cluster_id AND w.nth = 1
WHERE now.n_accounts - coalesce(w.n_accounts, 0) > 0
ORDER BY growth DESC, now.n_high_risk DESC, now.max_risk_score DESC, now.cluster_id
LIMIT 20;
