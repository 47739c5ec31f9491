-- One study heartbeat, decided and recorded atomically (services/learning_progress.py: `decide` is the same rule).
-- KEYS: 1 the learner's study state (hash), 2 pending seconds (hash), 3 last positions (hash), 4 flush mark
-- ARGV: 1 acting member, 2 lesson, 3 token, 4 seq, 5 position, 6 elapsed, 7 visible (1/0), 8 now (s),
--       9 min gap, 10 max gap, 11 business day, 12 state ttl, 13 flush interval
-- Returns {outcome, credited, acc, base, dur, schedule_flush}
local s = redis.call('HMGET', KEYS[1], 'lesson', 'token', 'seq', 'last', 'by', 'acc', 'base', 'dur', 'proxy')
if not s[1] or s[1] ~= ARGV[2] or s[2] ~= ARGV[3] or s[5] ~= ARGV[1] then
  return {'superseded', 0, 0, 0, 0, 0}
end
local seq, now = tonumber(ARGV[4]), tonumber(ARGV[8])
if seq <= tonumber(s[3]) then
  return {'duplicate', 0, tonumber(s[6]), tonumber(s[7]), tonumber(s[8]), 0}
end
local outcome, credit = 'ok', 0
local gap = now - tonumber(s[4])
if gap < tonumber(ARGV[9]) then
  outcome = 'too_soon'
  redis.call('HSET', KEYS[1], 'seq', seq)
else
  if ARGV[7] == '1' then
    credit = math.max(0, math.min(tonumber(ARGV[6]), gap, tonumber(ARGV[10])))
  else
    outcome = 'background'
  end
  redis.call('HSET', KEYS[1], 'seq', seq, 'last', now)
end
local learner = string.match(KEYS[1], '(%d+)$')
redis.call('HSET', KEYS[3], learner .. ':' .. ARGV[2], ARGV[5])
local acc = tonumber(s[6])
local schedule = 0
if credit > 0 then
  acc = redis.call('HINCRBY', KEYS[1], 'acc', credit)
  redis.call('HINCRBY', KEYS[2], learner .. ':' .. ARGV[2] .. ':' .. ARGV[11] .. ':' .. s[9], credit)
  if redis.call('SET', KEYS[4], '1', 'NX', 'EX', tonumber(ARGV[13])) then
    schedule = 1
  end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[12]))
return {outcome, credit, acc, tonumber(s[7]), tonumber(s[8]), schedule}
