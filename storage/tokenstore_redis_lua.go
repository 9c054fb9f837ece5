package storage

// The Lua scripts of RedisTokenStore. Each runs over the keys of one family,
// which share a hash tag and so one Cluster slot; Redis runs a script
// atomically. Times are Unix microseconds (token expiries) or milliseconds
// (PXAT deadlines, rotation times); "0" means none.

// luaDeleteFamily deletes every member of a family (KEYS[2]), then the
// family hash (KEYS[1]) and the member set.
const luaDeleteFamily = `
local function delete_family()
  local members = redis.call('SMEMBERS', KEYS[2])
  for i = 1, #members, 500 do
    redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
  end
  redis.call('DEL', KEYS[1], KEYS[2])
end
`

// luaSetTokens stores the tokens KEYS[first..] with ARGV pairs (JSON, PXAT
// ms or "0") starting at ARGV[arg], and adds them to the member set.
const luaSetTokens = `
local function set_tokens(first, arg)
  for i = first, #KEYS do
    local j = arg + (i - first) * 2
    if ARGV[j + 1] == '0' then
      redis.call('SET', KEYS[i], ARGV[j])
    else
      redis.call('SET', KEYS[i], ARGV[j], 'PXAT', ARGV[j + 1])
    end
    redis.call('SADD', KEYS[2], KEYS[i])
  end
end
`

// luaCreateFamily: KEYS = family, members, token keys...; ARGV = client,
// customer, user, device, deadline (Unix µs or "0"), deadline PXAT (ms or
// "0"), then (JSON, PXAT) per token. 0 when the family exists, else 1.
const luaCreateFamily = luaSetTokens + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'cu', ARGV[2], 'u', ARGV[3], 'd', ARGV[4], 'e', ARGV[5])
set_tokens(3, 7)
if ARGV[6] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[6])
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
end
return 1
`

// luaRotateRefresh: KEYS = family, members, old token, old token's marker,
// new token keys...; ARGV = client, now (µs), now (ms), grace (ms), family
// deadline PXAT (ms or "0"), then (JSON, PXAT) per new token. It returns
// the consumed token's JSON, -1 for "not found" or -2 for "reused" (the
// family has then been deleted).
const luaRotateRefresh = luaDeleteFamily + luaSetTokens + `
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return -1 end
local tok = redis.call('GET', KEYS[3])
if tok then
  local t = cjson.decode(tok)
  if t.k ~= 'refresh' or t.c ~= ARGV[1] then return -1 end
  if t.e and t.e > 0 and t.e <= tonumber(ARGV[2]) then return -1 end
  redis.call('DEL', KEYS[3])
  redis.call('SREM', KEYS[2], KEYS[3])
  if ARGV[5] == '0' then
    redis.call('SET', KEYS[4], ARGV[3])
  else
    redis.call('SET', KEYS[4], ARGV[3], 'PXAT', ARGV[5])
  end
  redis.call('SADD', KEYS[2], KEYS[4])
  set_tokens(5, 6)
  return tok
end
local r = redis.call('GET', KEYS[4])
if not r or tonumber(ARGV[3]) - tonumber(r) < tonumber(ARGV[4]) then return -1 end
delete_family()
return -2
`

// luaRevokeToken: KEYS = family, members, token; ARGV = now (µs). It
// returns {token JSON, client, user} after deleting the token (and its
// family when it is a refresh token), or nil when there is no live token.
const luaRevokeToken = luaDeleteFamily + `
local tok = redis.call('GET', KEYS[3])
if not tok then return nil end
local t = cjson.decode(tok)
if t.e and t.e > 0 and t.e <= tonumber(ARGV[1]) then return nil end
if t.k == 'refresh' then
  local fam = redis.call('HMGET', KEYS[1], 'c', 'u')
  delete_family()
  return {tok, fam[1] or '', fam[2] or ''}
end
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[2], KEYS[3])
return {tok, '', ''}
`

// luaRevokeFamily: KEYS = family, members. It returns {client, user} of the
// deleted family ({"", ""} when there was none).
const luaRevokeFamily = luaDeleteFamily + `
local fam = redis.call('HMGET', KEYS[1], 'c', 'u')
delete_family()
return {fam[1] or '', fam[2] or ''}
`

// luaIndexFamily: KEYS = an index sorted set; ARGV = family id, deadline
// (ms or "+inf"), now (ms). It prunes expired families, adds this one and
// lets the set expire with its last family.
const luaIndexFamily = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] == 'inf' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
return 1
`
