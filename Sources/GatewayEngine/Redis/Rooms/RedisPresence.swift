import GatewayCore
import GatewayRedis
import Logging
import Synchronization

/// Presence across nodes: each node keeps the principals connected to it in a set of its own in
/// Redis and beats (a timestamp in `P:presence:nodes`) on every update, once a second. A
/// principal is online when a node that beat within `ttl` holds it. The first update after a
/// node's heartbeat grew older than `ttl` — on whichever node comes first — removes that node
/// and reports its principals as left (unless another node holds them), so a node that dies
/// takes its principals offline within `ttl` plus a second.
///
/// The node id is random per process: a restarted node is a new node, and its old self is reaped.
/// A node that was reaped while alive (it could not beat for `ttl`: a long pause, Redis
/// unreachable) or whose Redis lost its data finds out at its next beat and writes its whole set
/// again, so its principals come back (as joined) instead of staying offline until they reconnect.
/// Blocking, one round trip per call (two after a reaping): the blocking-work pool only.
public final class RedisPresence: PresenceDirectory {
    private let commands: RedisCommandQueue
    private let prefix: String
    private let node: String
    private let ttlMilliseconds: Int
    /// What this node's set in Redis holds, as far as updates succeeded: written again after a
    /// reaping. `update` runs one at a time (RoomPresence), the lock only makes that checkable.
    private let mirror = Mutex(Mirror())

    private struct Mirror {
        var principals: Set<String> = []
        var hasBeaten = false
        /// Reaped and not yet written again (a failed rewrite is tried at the next beat).
        var needsRewrite = false
    }

    init(commands: RedisCommandQueue, prefix: String, ttlSeconds: Int) {
        self.commands = commands
        self.prefix = prefix
        self.ttlMilliseconds = ttlSeconds * 1000
        var generator = SystemRandomNumberGenerator()
        node = String(generator.next() as UInt64, radix: 36)
    }

    public var needsHeartbeat: Bool { true }

    public func update(joined: [String], left: [String]) throws(GatewayError) -> (joined: [String], left: [String]) {
        var (changes, isNew) = try beat(joined: joined, left: left)
        let rewrite: Set<String>? = mirror.withLock { mirror in
            if isNew && mirror.hasBeaten { mirror.needsRewrite = true }
            mirror.hasBeaten = true
            mirror.principals.formUnion(joined)
            mirror.principals.subtract(left)
            return mirror.needsRewrite ? mirror.principals : nil
        }
        if let rewrite {
            // Reaped (or Redis lost its data): everyone here is written, and announced, again.
            let again = try beat(joined: rewrite.sorted(), left: [])
            mirror.withLock { $0.needsRewrite = false }
            changes.joined = Array(Set(changes.joined + again.changes.joined)).sorted()
            changes.left = Array(Set(changes.left + again.changes.left).subtracting(rewrite)).sorted()
        }
        return changes
    }

    private func beat(joined: [String], left: [String]) throws(GatewayError) -> (changes: (joined: [String], left: [String]), isNew: Bool) {
        let arguments = [prefix, node, String(ttlMilliseconds), String(joined.count)] + joined + left
        guard case .array(let lists) = try run(.presenceUpdate, arguments), lists.count == 3 else {
            throw Self.unavailable("presence update: unexpected answer")
        }
        func strings(_ reply: RedisReply) -> [String] {
            guard case .array(let items) = reply else { return [] }
            return items.compactMap(\.text)
        }
        // A principal on two reaped nodes is reported by each.
        return ((strings(lists[0]), Array(Set(strings(lists[1]))).sorted()), lists[2] == .integer(1))
    }

    public func online(_ principals: [String]) throws(GatewayError) -> Set<String> {
        guard !principals.isEmpty else { return [] }
        guard case .array(let flags) = try run(.presenceOnline, [prefix, String(ttlMilliseconds)] + principals),
              flags.count == principals.count else {
            throw Self.unavailable("presence query: unexpected answer")
        }
        return Set(zip(principals, flags).compactMap { $1 == .integer(1) ? $0 : nil })
    }

    /// At shutdown: marks this node dead at once, so the next update of another node reports its
    /// principals as left rather than waiting for the TTL. Waits for one round trip (fails at
    /// once while Redis is down: then the TTL does it).
    func leave() {
        _ = commands.sendAndWait([["ZADD".bytes, (prefix + ":presence:nodes").bytes, "0".bytes, node.bytes]])
    }

    private func run(_ script: RedisScript, _ arguments: [String]) throws(GatewayError) -> RedisReply {
        switch RedisEngine.evaluate(script, keys: [], arguments: arguments.map(\.bytes), on: commands) {
        case .success(.error(let message)): throw Self.unavailable(message)
        case .success(let reply): return reply
        case .failure(let error): throw Self.unavailable("\(error)")
        }
    }

    private static func unavailable(_ why: String) -> GatewayError {
        GatewayError(code: "room.presence_unavailable", message: "Presence could not be read from Redis (\(why)).", status: 503)
    }
}

/// Rooms and presence for a gateway of several nodes: one Redis connection (its own thread)
/// serves both; GatewayServer builds it when `[engine] kind = "redis"` and hands `store` to the
/// room service and `presence` to room presence.
public final class RedisRooms: Sendable {
    public let store: RedisRoomStore
    public let presence: RedisPresence
    private let commands: RedisCommandQueue

    /// `eventsPerRoom`: `[history] per_room`.
    public init(endpoint: RedisEndpoint, presenceTTLSeconds: Int, eventsPerRoom: Int, logger: Logger, keyPrefix: String = "gateway") {
        let commands = RedisCommandQueue(endpoint: endpoint, logger: logger)
        let prefix = RedisKeys(prefix: keyPrefix).roomPrefix
        self.commands = commands
        store = RedisRoomStore(commands: commands, prefix: prefix, eventsPerRoom: eventsPerRoom)
        presence = RedisPresence(commands: commands, prefix: prefix, ttlSeconds: presenceTTLSeconds)
    }

    public func start() { commands.start() }

    public func stop() {
        presence.leave()
        commands.stop()
    }
}
