-- tenant_limit's shared refund: gives back what an admitted request spent, when weir refused it
-- after the check (a later processor, a full queue). Moves each state back by the units it
-- spent; a tenant whose hash expired has full buckets already and gets nothing.
--
-- KEYS[1]  the tenant's hash (see check.lua).
-- ARGV[1 + 2k], ARGV[2 + 2k] for kind k = 0, 1, 2: microseconds per unit ("0": not limited)
--          and the units to give back.
for k = 0, 2 do
  local unit = tonumber(ARGV[1 + 2 * k])
  local n = tonumber(ARGV[2 + 2 * k])
  local tat = tonumber(redis.call('HGET', KEYS[1], tostring(k)))
  if tat and unit > 0 and n > 0 then
    redis.call('HSET', KEYS[1], tostring(k), string.format('%.3f', tat - n * unit))
  end
end
return 0
