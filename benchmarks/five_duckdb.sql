-- The five benchmark rules (benchmarks/five_rules/*.yaml) written by hand in DuckDB SQL.
--
-- Output: one row per trigger, (rule_id, entity, trigger_ts), the same definition as the
-- Polars and pandas versions (see benchmarks/five.py):
--   window rules: an account and the time t of one of its matching transactions, such that
--   the matching transactions of that account in the half-open window (t - w, t] meet the
--   condition;
--   pass-through: an account and the time t of an inflow >= 1,000 whose account sends out at
--   least 90 % of it in (t, t + 48h].
--
-- Windows are half-open, as everywhere in moneytrail (DESIGN.md, "Canonical data"). SQL frames
-- include both ends, so "(t - 10d, t]" is written as
--   RANGE BETWEEN INTERVAL 10 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
-- (timestamps are microseconds, so [t - 10d + 1us, t] is exactly (t - 10d, t]), and
-- "(t, t + 48h]" as RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND INTERVAL 48 HOURS
-- FOLLOWING. RANGE ... CURRENT ROW includes the rows tied with t, as the Polars windows do.
--
-- Money is exact: amount_base is DECIMAL(18, 2) in the Parquet file and DuckDB sums decimals
-- exactly; thresholds are decimal literals.
--
-- Placeholders filled by benchmarks/five.py: {transactions} (Parquet path), {mcc_groups}
-- (the shipped rules/lists/mcc_groups.csv).

WITH t AS (
    SELECT account_id, ts_utc, ts_local, direction, channel, amount_base,
           counterparty_type, counterparty_account_id, mcc, txn_city
    FROM read_parquet('{transactions}')
),
structuring AS (
    SELECT account_id, ts_utc,
           COUNT(*) OVER w AS deposits,
           SUM(amount_base) OVER w AS total
    FROM t
    WHERE channel IN ('cash', 'atm') AND direction = 'in'
      AND amount_base >= 0.8 * 10000 AND amount_base < 10000
    WINDOW w AS (
        PARTITION BY account_id ORDER BY ts_utc
        RANGE BETWEEN INTERVAL 10 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
    )
),
fan_in AS (
    SELECT account_id, ts_utc,
           -- COUNT(DISTINCT ...) ignores NULL, as the Polars SQL translation does
           COUNT(DISTINCT counterparty_account_id) OVER (
               PARTITION BY account_id ORDER BY ts_utc
               RANGE BETWEEN INTERVAL 7 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
           ) AS senders
    FROM t
    WHERE direction = 'in' AND channel IN ('p2p', 'wire', 'ach')
      AND counterparty_type = 'individual'
),
pass_through AS (
    SELECT account_id, ts_utc, direction, amount_base,
           -- outflows strictly after the inflow and at most 48 hours after it
           SUM(CASE WHEN direction = 'out' THEN amount_base ELSE 0 END) OVER (
               PARTITION BY account_id ORDER BY ts_utc
               RANGE BETWEEN INTERVAL 1 MICROSECOND FOLLOWING AND INTERVAL 48 HOURS FOLLOWING
           ) AS out_next
    FROM t
    WHERE direction = 'out' OR amount_base >= 1000  -- the rows that can matter
),
night_cash AS (
    SELECT account_id, ts_utc,
           COUNT(*) OVER (
               PARTITION BY account_id ORDER BY ts_utc
               RANGE BETWEEN INTERVAL 30 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
           ) AS deposits
    FROM t
    WHERE channel IN ('cash', 'atm') AND direction = 'in'
      AND (EXTRACT(hour FROM ts_local) >= 22 OR EXTRACT(hour FROM ts_local) < 6)
),
lodging AS (
    SELECT account_id, ts_utc,
           COUNT(DISTINCT txn_city) OVER w AS cities,
           SUM(amount_base) OVER w AS total
    FROM t
    WHERE direction = 'out'
      AND mcc IN (
          SELECT value FROM read_csv('{mcc_groups}', all_varchar = true)
          WHERE "group" = 'LODGING'
      )
    WINDOW w AS (
        PARTITION BY account_id ORDER BY ts_utc
        RANGE BETWEEN INTERVAL 30 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW
    )
)
SELECT DISTINCT 'BENCH-STRUCT-01' AS rule_id, account_id AS entity, ts_utc AS trigger_ts
FROM structuring WHERE deposits >= 3 AND total >= 10000
UNION ALL
SELECT DISTINCT 'BENCH-FANIN-01', account_id, ts_utc
FROM fan_in WHERE senders >= 10
UNION ALL
SELECT DISTINCT 'BENCH-PASS-01', account_id, ts_utc
FROM pass_through
WHERE direction = 'in' AND amount_base >= 1000 AND out_next >= 0.9 * amount_base
UNION ALL
SELECT DISTINCT 'BENCH-NIGHT-01', account_id, ts_utc
FROM night_cash WHERE deposits >= 8
UNION ALL
SELECT DISTINCT 'BENCH-LODGE-01', account_id, ts_utc
FROM lodging WHERE cities >= 3 AND total >= 1300
