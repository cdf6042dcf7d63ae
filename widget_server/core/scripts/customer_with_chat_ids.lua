-- KEYS: the customer's record, the customer's chats (by last activity). ARGV: how many chat ids.
return {redis.call('HGETALL', KEYS[1]), redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)}
