import COpenSSL

/// The keys and channel of one gateway deployment in Redis. Every key carries the hash tag
/// `{<prefix>}`, so in a Redis Cluster all of them live in one slot and the scripts may touch
/// them together.
struct RedisKeys: Sendable {
    let epoch: String
    /// Event ids (INCR per event): global, unique, increasing.
    let ids: String
    /// The publish sequence (INCR inside the publish script): the order in which events were
    /// published, the same on every node; history streams are keyed by it.
    let sequence: String
    let channel: String
    /// The start of every room and presence key (RedisRoomScripts.swift).
    let roomPrefix: String
    private let historyPrefix: String

    init(prefix: String) {
        epoch = "{\(prefix)}:epoch"
        ids = "{\(prefix)}:id"
        sequence = "{\(prefix)}:seq"
        channel = "{\(prefix)}:events"
        historyPrefix = "{\(prefix)}:history:"
        roomPrefix = "{\(prefix)}"
    }

    /// The stream holding the last `history.per_recipient` events addressed to `principal`.
    func history(_ principal: String) -> String { historyPrefix + principal }
}

/// The two Lua scripts. Redis runs a script atomically, which is what makes ids, history order and
/// delivery order agree on every node: no other publish can come between the INCR and the
/// PUBLISH of one event.
struct RedisScript: Sendable {
    let source: String
    /// EVALSHA's name for it (SHA-1 of the source, computed here so a restarted Redis that lost
    /// its script cache is answered with EVAL on NOSCRIPT).
    let sha: String

    init(_ source: String) {
        self.source = source
        var digest = [UInt8](repeating: 0, count: 20)
        let bytes = Array(source.utf8)
        _ = SHA1(bytes, bytes.count, &digest)
        sha = digest.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// Takes the next event id, if Redis still holds the data this node knows (same epoch).
    ///   KEYS: epoch, ids    ARGV: expected epoch
    /// Returns the id, or the error "EPOCHCHANGED" (the node re-initializes and tries again).
    static let allocate = RedisScript(#"""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return redis.error_reply('EPOCHCHANGED')
        end
        return redis.call('INCR', KEYS[2])
        """#)

    /// Publishes one event: takes the next publish sequence number, appends the event to each
    /// target principal's history stream under the stream id `<seq>-0` (trimmed to ARGV[3]
    /// entries), and PUBLISHes it once. Being one script, no other publish comes between: the
    /// channel, and every stream, see events in sequence order.
    ///   KEYS: epoch, sequence, history stream of each distinct target principal
    ///   ARGV: expected epoch, channel, history length, "<routing header>\n<event JSON>"
    /// Returns the sequence number, or the error "EPOCHCHANGED".
    static let publish = RedisScript(#"""
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return redis.error_reply('EPOCHCHANGED')
        end
        local seq = string.format('%d', redis.call('INCR', KEYS[2]))
        local message = seq .. '\n' .. ARGV[4]
        for i = 3, #KEYS do
          redis.call('XADD', KEYS[i], 'MAXLEN', ARGV[3], seq .. '-0', 'm', message)
        end
        redis.call('PUBLISH', ARGV[2], message)
        return tonumber(seq)
        """#)

    /// Makes sure an epoch exists and both counters are at least what this node has seen
    /// (ARGV[2] for ids, ARGV[3] for the sequence), so ids keep increasing after Redis lost its
    /// data. A new epoch is ARGV[1].
    ///   KEYS: epoch, ids, sequence    ARGV: candidate epoch, id floor, sequence floor
    /// Returns {epoch, id counter, sequence counter}.
    static let initialize = RedisScript(#"""
        local function raise(key, floor)
          local current = tonumber(redis.call('GET', key) or '0')
          if current < tonumber(floor) then
            redis.call('SET', key, floor)
            return floor
          end
          return string.format('%d', current)
        end
        local ids = raise(KEYS[2], ARGV[2])
        local seq = raise(KEYS[3], ARGV[3])
        local epoch = redis.call('GET', KEYS[1])
        if not epoch then
          epoch = ARGV[1]
          redis.call('SET', KEYS[1], epoch)
        end
        return {epoch, ids, seq}
        """#)
}
