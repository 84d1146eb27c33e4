// The Lua scripts of rooms and presence in Redis. Each runs atomically, which is what keeps a
// room's history, its last event and every member's unread count in step (as SQLite's
// transactions do for one node). Every key they build starts with ARGV[1], the `{prefix}` hash
// tag, so in a Redis Cluster all of them share one slot with the engine's keys.
//
// Key layout (P = "{gateway}"), one room R:
//   P:room:R            hash   title, host, created_at, updated_at, last_event_id
//   P:room:R:members    hash   member → "state\tpermissions\tnotify\tpresence" (RedisMemberValue)
//   P:room:R:read       hash   member → last event id read
//   P:room:R:unread     hash   member → unread count
//   P:room:R:events     zset   event id (score and member): the room's history, in id order
//   P:room:R:payloads   hash   event id → the event JSON as clients receive it
//   P:room:R:senders    hash   event id → sender (a member's own events are never unread)
//   P:room:R:watchers   set    principals watching R without being members
//   P:member-rooms:M    set    the rooms M is a member of
//   P:watching:M        string the room M watches
// Presence:
//   P:presence:nodes    zset   node id → its last heartbeat (ms, Redis's clock)
//   P:presence:node:N   set    the principals with a connection on node N

extension RedisScript {
    /// ARGV: prefix, room, title, now, host, then member, value pairs. Returns 1 (0: the id was taken).
    static let roomCreate = RedisScript(#"""
        local p, id = ARGV[1], ARGV[2]
        local room = p .. ':room:' .. id
        if redis.call('EXISTS', room) == 1 then return 0 end
        redis.call('HSET', room, 'title', ARGV[3], 'created_at', ARGV[4], 'updated_at', ARGV[4], 'host', ARGV[5])
        for i = 6, #ARGV, 2 do
          redis.call('HSET', room .. ':members', ARGV[i], ARGV[i + 1])
          redis.call('SADD', p .. ':member-rooms:' .. ARGV[i], id)
        end
        return 1
        """#)

    /// ARGV: prefix, room, member, value, now. Returns 0 when the room does not exist.
    static let roomPutMember = RedisScript(#"""
        local p, id = ARGV[1], ARGV[2]
        local room = p .. ':room:' .. id
        if redis.call('EXISTS', room) == 0 then return 0 end
        redis.call('HSET', room .. ':members', ARGV[3], ARGV[4])
        redis.call('SADD', p .. ':member-rooms:' .. ARGV[3], id)
        redis.call('HSET', room, 'updated_at', ARGV[5])
        return 1
        """#)

    /// ARGV: prefix, room, member, now. Returns 0 when the member was not in the room.
    static let roomRemoveMember = RedisScript(#"""
        local p, id, member = ARGV[1], ARGV[2], ARGV[3]
        local room = p .. ':room:' .. id
        if redis.call('HDEL', room .. ':members', member) == 0 then return 0 end
        redis.call('HDEL', room .. ':read', member)
        redis.call('HDEL', room .. ':unread', member)
        redis.call('SREM', p .. ':member-rooms:' .. member, id)
        redis.call('HSET', room, 'updated_at', ARGV[4])
        return 1
        """#)

    /// Appends an event (once per id) and counts it unread for every member but the sender that
    /// has the read permission and has not read past it.
    /// Keeps the room's newest `events to keep` events: older ones leave the zset, payloads and
    /// senders (unread counts are kept apart and stay exact).
    ///   ARGV: prefix, room, event id, sender, payload, now, events to keep
    /// Returns member, unread, last_read triples for those members.
    static let roomAppend = RedisScript(#"""
        local p, id, eventId, sender = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        local room = p .. ':room:' .. id
        local number = tonumber(eventId)
        local new = redis.call('ZADD', room .. ':events', 'NX', eventId, eventId) == 1
        if new then
          redis.call('HSET', room .. ':payloads', eventId, ARGV[5])
          redis.call('HSET', room .. ':senders', eventId, sender)
          local last = tonumber(redis.call('HGET', room, 'last_event_id') or '0')
          if number > last then redis.call('HSET', room, 'last_event_id', eventId) end
          redis.call('HSET', room, 'updated_at', ARGV[6])
          -- At most 1,000 per call (unpack's stack); a lowered per_room converges over appends.
          local excess = math.min(redis.call('ZCARD', room .. ':events') - tonumber(ARGV[7]), 1000)
          if excess > 0 then
            local old = redis.call('ZRANGE', room .. ':events', 0, excess - 1)
            redis.call('ZREMRANGEBYRANK', room .. ':events', 0, excess - 1)
            redis.call('HDEL', room .. ':payloads', unpack(old))
            redis.call('HDEL', room .. ':senders', unpack(old))
          end
        end
        local counts = {}
        local members = redis.call('HGETALL', room .. ':members')
        for i = 1, #members, 2 do
          local member = members[i]
          local permissions = string.match(members[i + 1], '^[^\t]*\t([^\t]*)') or ''
          if member ~= sender and string.find(' ' .. permissions .. ' ', ' read ', 1, true) then
            local lastRead = tonumber(redis.call('HGET', room .. ':read', member) or '0')
            local unread
            if new and lastRead < number then
              unread = redis.call('HINCRBY', room .. ':unread', member, 1)
            else
              unread = tonumber(redis.call('HGET', room .. ':unread', member) or '0')
            end
            counts[#counts + 1] = member
            counts[#counts + 1] = unread
            counts[#counts + 1] = lastRead
          end
        end
        return counts
        """#)

    /// Moves a member's read mark forward and recounts the events after it that others sent.
    ///   ARGV: prefix, room, member, event id
    /// Returns {unread, last_read}, or nil when the member is not in the room.
    static let roomMarkRead = RedisScript(#"""
        local p, id, member = ARGV[1], ARGV[2], ARGV[3]
        local room = p .. ':room:' .. id
        if redis.call('HEXISTS', room .. ':members', member) == 0 then return false end
        local lastRead = math.max(tonumber(redis.call('HGET', room .. ':read', member) or '0'), tonumber(ARGV[4]))
        local text = string.format('%d', lastRead)
        redis.call('HSET', room .. ':read', member, text)
        local unread = 0
        for _, eventId in ipairs(redis.call('ZRANGEBYSCORE', room .. ':events', '(' .. text, '+inf')) do
          if redis.call('HGET', room .. ':senders', eventId) ~= member then unread = unread + 1 end
        end
        redis.call('HSET', room .. ':unread', member, unread)
        return {unread, lastRead}
        """#)

    /// ARGV: prefix, room, max score ("(<id>" or "+inf"), limit. Returns id, payload pairs, newest first.
    static let roomEvents = RedisScript(#"""
        local room = ARGV[1] .. ':room:' .. ARGV[2]
        local out = {}
        for _, eventId in ipairs(redis.call('ZREVRANGEBYSCORE', room .. ':events', ARGV[3], '-inf', 'LIMIT', 0, tonumber(ARGV[4]))) do
          out[#out + 1] = eventId
          out[#out + 1] = redis.call('HGET', room .. ':payloads', eventId) or ''
        end
        return out
        """#)

    /// One room of a member's room list.
    ///   ARGV: prefix, room, member
    /// Returns {title, created_at, updated_at, last_event_id, member value, last_read, unread,
    /// last event payload, host}, '' for what is missing; nil when the room or the member is gone.
    static let roomSummary = RedisScript(#"""
        local room = ARGV[1] .. ':room:' .. ARGV[2]
        local fields = redis.call('HMGET', room, 'title', 'created_at', 'updated_at', 'last_event_id', 'host')
        local value = redis.call('HGET', room .. ':members', ARGV[3])
        if not fields[1] or not value then return false end
        local last = fields[4] or ''
        local payload = ''
        if last ~= '' then payload = redis.call('HGET', room .. ':payloads', last) or '' end
        return {fields[1], fields[2], fields[3], last, value,
                redis.call('HGET', room .. ':read', ARGV[3]) or '0',
                redis.call('HGET', room .. ':unread', ARGV[3]) or '0', payload, fields[5] or ''}
        """#)

    /// ARGV: prefix, room, principal. Returns the room watched before (nil: none or the same).
    static let roomWatch = RedisScript(#"""
        local p, id, principal = ARGV[1], ARGV[2], ARGV[3]
        local previous = redis.call('GET', p .. ':watching:' .. principal)
        redis.call('SET', p .. ':watching:' .. principal, id)
        if previous and previous ~= id then redis.call('SREM', p .. ':room:' .. previous .. ':watchers', principal) end
        redis.call('SADD', p .. ':room:' .. id .. ':watchers', principal)
        if previous == id then return false end
        return previous
        """#)

    /// ARGV: prefix, room, principal. Returns 1, or 0 when the principal did not watch the room.
    static let roomUnwatch = RedisScript(#"""
        local p, id, principal = ARGV[1], ARGV[2], ARGV[3]
        if redis.call('GET', p .. ':watching:' .. principal) ~= id then return 0 end
        redis.call('DEL', p .. ':watching:' .. principal)
        redis.call('SREM', p .. ':room:' .. id .. ':watchers', principal)
        return 1
        """#)

    /// A node's heartbeat and presence changes; reaps nodes whose heartbeat is older than the TTL.
    ///   ARGV: prefix, node, ttl ms, number of joined, joined ids…, left ids…
    /// Returns {joined, left, new}: who was offline on every live node and joined, who is now
    /// offline on every live node (left here, or was on a reaped node), and 1 when this node was
    /// not in the nodes set (its first beat; or it was reaped, or Redis lost its data: then the
    /// node sends its whole set again).
    static let presenceUpdate = RedisScript(#"""
        local p, node, ttl, joinedCount = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local nodes = p .. ':presence:nodes'
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local new = redis.call('ZADD', nodes, now, node)
        local alive = redis.call('ZRANGEBYSCORE', nodes, now - ttl, '+inf')
        local function elsewhere(id, except)
          for _, other in ipairs(alive) do
            if other ~= except and redis.call('SISMEMBER', p .. ':presence:node:' .. other, id) == 1 then return true end
          end
          return false
        end
        local own = p .. ':presence:node:' .. node
        local joined, left = {}, {}
        for i = 5, 4 + joinedCount do
          local added = redis.call('SADD', own, ARGV[i]) == 1
          if added and not elsewhere(ARGV[i], node) then joined[#joined + 1] = ARGV[i] end
        end
        for i = 5 + joinedCount, #ARGV do
          if redis.call('SREM', own, ARGV[i]) == 1 and not elsewhere(ARGV[i], node) then left[#left + 1] = ARGV[i] end
        end
        for _, dead in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. string.format('%d', now - ttl))) do
          redis.call('ZREM', nodes, dead)
          local set = p .. ':presence:node:' .. dead
          for _, id in ipairs(redis.call('SMEMBERS', set)) do
            if not elsewhere(id, dead) then left[#left + 1] = id end
          end
          redis.call('DEL', set)
        end
        return {joined, left, new}
        """#)

    /// ARGV: prefix, ttl ms, principals… Returns 1 or 0 for each: online on a live node.
    static let presenceOnline = RedisScript(#"""
        local p = ARGV[1]
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local alive = redis.call('ZRANGEBYSCORE', p .. ':presence:nodes', now - tonumber(ARGV[2]), '+inf')
        local out = {}
        for i = 3, #ARGV do
          local online = 0
          for _, node in ipairs(alive) do
            if redis.call('SISMEMBER', p .. ':presence:node:' .. node, ARGV[i]) == 1 then online = 1; break end
          end
          out[#out + 1] = online
        end
        return out
        """#)
}
