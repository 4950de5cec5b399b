-- tenant_limit's shared check: GCRA over one tenant's three limits (records, bytes, requests),
-- on Redis's own clock (TIME), so every replica measures against one clock. All or none: the
-- new states are written only when every limit passes, so a refused request spends nothing.
--
-- KEYS[1]  the tenant's hash: fields "0", "1", "2" hold each kind's theoretical arrival time,
--          in microseconds from EPOCH, written with three decimals.
-- ARGV[1]  extra records to take ahead of need (local_budget); 0 for none.
-- ARGV[2 + 3k], ARGV[3 + 3k], ARGV[4 + 3k] for kind k = 0, 1, 2: microseconds per unit
--          ("0": kind not limited), the burst in microseconds (burst × microseconds per unit),
--          and the units this request spends.
--
-- Returns {granted_extra, wait_us, kind}: admitted when wait_us is 0 (granted_extra is the
-- extra taken, 0 or ARGV[1]); otherwise refused, wait_us is when it would pass and kind the
-- limit that wants the longest wait.
local EPOCH = 1700000000
-- Redis before 5 must be told to replicate the writes, not the script, after TIME; later
-- versions always do.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = (tonumber(t[1]) - EPOCH) * 1000000 + tonumber(t[2])
local stored = redis.call('HMGET', KEYS[1], '0', '1', '2')

local function try(extra)
  local new, wait, kind = {}, 0, -1
  for k = 0, 2 do
    local unit = tonumber(ARGV[2 + 3 * k])
    local burst = tonumber(ARGV[3 + 3 * k])
    local n = tonumber(ARGV[4 + 3 * k])
    if k == 0 then n = n + extra end
    if unit > 0 and n > 0 then
      local tat = math.max(tonumber(stored[k + 1]) or 0, now)
      local next_tat = tat + n * unit
      local allow_at = next_tat - burst
      -- Half a microsecond of slack: float rounding must not refuse a request that fits
      -- exactly (a whole burst into an empty bucket).
      if allow_at > now + 0.5 then
        if allow_at - now > wait then wait, kind = allow_at - now, k end
      else
        new[k] = next_tat
      end
    end
  end
  return new, wait, kind
end

local extra = tonumber(ARGV[1])
local new, wait, kind = try(extra)
if wait > 0 and extra > 0 then
  extra = 0
  new, wait, kind = try(0)
end
if wait > 0 then
  return {0, math.max(1, math.ceil(wait)), kind}
end
local last = now
for k, v in pairs(new) do
  redis.call('HSET', KEYS[1], tostring(k), string.format('%.3f', v))
  if v > last then last = v end
end
if next(new) ~= nil then
  -- Kept until every bucket is full again; after that a fresh state is the same.
  local ttl = math.ceil((last - now) / 1000) + 1000
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return {extra, 0, -1}
