-- Decay functions of the memory API against hand-computed values.
-- Ages are in hours; every value is rounded to 6 digits.

-- exponential: exp(-rate * t)
SELECT round(engram.decay_exponential(2, 0.5)::numeric, 6) AS "exp(-1) = 0.367879",
       round(engram.decay_exponential(0, 0.5)::numeric, 6) AS "t=0: 1",
       round(engram.decay_exponential(-5, 1)::numeric, 6) AS "future clamps to 1",
       round(engram.decay_exponential(10, 0)::numeric, 6) AS "rate 0: 1";

-- power: (1 + t)^-rate
SELECT round(engram.decay_power(3, 0.5)::numeric, 6) AS "4^-0.5 = 0.5",
       round(engram.decay_power(9, 1)::numeric, 6) AS "10^-1 = 0.1",
       round(engram.decay_power(0, 2)::numeric, 6) AS "t=0: 1",
       round(engram.decay_power(24, 0.5)::numeric, 6) AS "25^-0.5 = 0.2";

-- ACT-R, Petrov's approximation with one exact term:
--   B = ln(t1^-d + (n-1)(L^(1-d) - t1^(1-d)) / ((1-d)(L - t1)))
-- n=1, t1=L=4, d=0.5: ln(4^-0.5) = -ln 2 = -0.693147
SELECT round(engram.actr_base_level(1, 4, 4, 0.5)::numeric, 6) AS "n=1: -0.693147";
-- n=3, L=9, t1=1, d=0.5: ln(1 + 2*(3-1)/(0.5*8)) = ln 2 = 0.693147
SELECT round(engram.actr_base_level(3, 9, 1, 0.5)::numeric, 6) AS "ln 2 = 0.693147";
-- n=5, L=16, t1=4, d=0.5: ln(0.5 + 4*(4-2)/(0.5*12)) = ln(11/6) = 0.606136
SELECT round(engram.actr_base_level(5, 16, 4, 0.5)::numeric, 6) AS "ln(11/6) = 0.606136";
-- L = t1: limit (n-1) t1^-d; n=2, t=4, d=0.5: ln(0.5 + 0.5) = 0
SELECT round(engram.actr_base_level(2, 4, 4, 0.5)::numeric, 6) AS "ln 1 = 0";
-- d = 0: every presentation counts 1: ln n
SELECT round(engram.actr_base_level(4, 10, 2, 0)::numeric, 6) AS "ln 4 = 1.386294";
-- ages below one second count as one second: -0.5 ln(1/3600) = 4.094345
SELECT round(engram.actr_base_level(1, 0, 0, 0.5)::numeric, 6) AS "0.5 ln 3600 = 4.094345";
-- more use and more recent use mean more activation
SELECT engram.actr_base_level(10, 100, 1, 0.5) > engram.actr_base_level(2, 100, 1, 0.5) AS more_uses,
       engram.actr_base_level(5, 100, 1, 0.5) > engram.actr_base_level(5, 100, 50, 0.5) AS more_recent;

-- engram.activation(created_at, last_access, access_count, now) under the GUCs.
-- Never used, created 4 hours before now:
SET engram.decay_rate = 0.5;
SET engram.decay_function = 'exponential';
SELECT round(engram.activation('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS "exp(-2) = 0.135335",
       round(engram.activation_norm('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS norm;
SET engram.decay_function = 'power';
SELECT round(engram.activation('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS "5^-0.5 = 0.447214",
       round(engram.activation_norm('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS norm;
SET engram.decay_function = 'actr';
-- B = -0.5 ln 4 = -0.693147; logistic: 1/(1+e^0.693147) = 1/3
SELECT round(engram.activation('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS "B = -0.693147",
       round(engram.activation_norm('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00')::numeric, 6) AS "1/3";

-- Used twice, last 1 hour before now (t = 1 h since last access):
SET engram.decay_function = 'exponential';
SELECT round(engram.activation('2026-01-01 00:00+00', '2026-01-01 03:00+00', 2, '2026-01-01 04:00+00')::numeric, 6) AS "exp(-0.5) = 0.606531";
SET engram.decay_function = 'power';
SELECT round(engram.activation('2026-01-01 00:00+00', '2026-01-01 03:00+00', 2, '2026-01-01 04:00+00')::numeric, 6) AS "2^-0.5 = 0.707107";
SET engram.decay_function = 'actr';
-- n = 3, L = 4, t1 = 1: ln(1 + 2*(2-1)/(0.5*3)) = ln(7/3) = 0.847298; logistic 0.7
SELECT round(engram.activation('2026-01-01 00:00+00', '2026-01-01 03:00+00', 2, '2026-01-01 04:00+00')::numeric, 6) AS "ln(7/3) = 0.847298",
       round(engram.activation_norm('2026-01-01 00:00+00', '2026-01-01 03:00+00', 2, '2026-01-01 04:00+00')::numeric, 6) AS "0.7";
-- a last access before creation is ignored; NULL count is 0
SELECT round(engram.activation('2026-01-01 00:00+00', '2025-01-01 00:00+00', NULL, '2026-01-01 04:00+00')::numeric, 6) AS "B = -0.693147";
SELECT engram.activation(NULL, NULL, 0, now()) IS NULL AS null_created_gives_null;

-- ACT-R needs d < 1
SET engram.decay_rate = 1;
\set SHOW_CONTEXT never
SELECT engram.activation('2026-01-01 00:00+00', NULL, 0, '2026-01-01 04:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT engram.actr_base_level(2, 4, 1, 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT engram.decay_exponential(1, -1);
\echo :LAST_ERROR_SQLSTATE
SET engram.decay_function = 'linear';
\echo :LAST_ERROR_SQLSTATE
RESET engram.decay_rate;
RESET engram.decay_function;

-- the score: w_sim * similarity + w_act * activation + w_conf * confidence
SELECT round(engram.recall_score(0.5, 1, 0.5)::numeric, 6) AS "0.7*0.5 + 0.2*1 + 0.1*0.5 = 0.6",
       round(engram.recall_score(NULL, NULL, 1)::numeric, 6) AS "NULL counts as 0: 0.1";
SET engram.weight_similarity = 1;
SET engram.weight_activation = 0;
SET engram.weight_confidence = 0.5;
SELECT round(engram.recall_score(0.25, 1, 0.5)::numeric, 6) AS "0.25 + 0 + 0.25 = 0.5";
RESET engram.weight_similarity;
RESET engram.weight_activation;
RESET engram.weight_confidence;
SHOW engram.decay_function;
SHOW engram.decay_rate;
