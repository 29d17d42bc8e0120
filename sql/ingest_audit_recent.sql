-- Ingest audit of the last 7 landed days: every raw line accounted for.
--
-- One row per raw source and landed day (the `date=` folder), newest first: lines read, rows
-- accepted, duplicates dropped and lines quarantined, the share quarantined, and whether the
-- books balance (lines_read = accepted + duplicates + quarantined; it must always be true).
-- A day with no folder for a source shows a row of zeros.
--
-- Run: riskctl sql --lake DIR "$(cat sql/ingest_audit_recent.sql)"
WITH latest AS (SELECT max(land_date) AS d FROM risk.ingest_audit)
SELECT a.land_date,
       a.source,
       a.lines_read,
       a.rows_accepted,
       a.duplicates_dropped,
       a.rows_quarantined,
       round(100.0 * a.rows_quarantined / nullif(a.lines_read, 0), 2)            AS pct_quarantined,
       a.lines_read = a.rows_accepted + a.duplicates_dropped + a.rows_quarantined AS balanced,
       a.ingested_at
FROM risk.ingest_audit a
JOIN latest ON a.land_date >= date_sub(latest.d, 6)
ORDER BY a.land_date DESC, a.source;
