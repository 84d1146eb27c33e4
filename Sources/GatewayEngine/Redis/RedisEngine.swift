import Foundation
import GatewayCore
import GatewayRedis
import Logging
import Metrics
import Synchronization

/// Several gateway nodes as one gateway, on one Redis (`[engine] kind = "redis"`):
///
/// - ids: `allocateId` takes the next value of a shared counter (global, unique, increasing).
/// - publish: one script per event (RedisScript.publish) takes the next *publish sequence*
///   number, appends the event to the history stream of each target principal and PUBLISHes it
///   once; the caller's 202 comes after Redis answered, so an acknowledged event is stored and
///   sent. The sequence, not the id, is the order every node and every stream sees.
/// - delivery: every node (the publishing one too) receives the event on its subscription and
///   hands it to its own connections (RedisFanIn → RedisLocalDelivery), in sequence order.
/// - recovery: `?last_id=` and the notifications endpoint read the history streams
///   (RedisHistoryReader), so a client may come back on any node.
/// - faults: while Redis is unreachable, calls fail at once with `engine.unavailable` and both
///   connections reconnect with backoff; an epoch key tells a node that Redis lost its data.
///
/// The public calls block (a round trip to Redis): call them where blocking is allowed (the
/// blocking-work pool), never on an event loop. The Redis I/O itself runs on the command
/// queue's and the subscription's own threads.
public final class RedisEngine: Sendable {
    public struct Settings: Sendable {
        public var endpoint: RedisEndpoint
        /// Events kept per target principal (`[history] per_recipient`).
        public var historyPerPrincipal: Int
        /// The `{prefix}` of every key and of the channel.
        public var keyPrefix: String

        public init(endpoint: RedisEndpoint, historyPerPrincipal: Int, keyPrefix: String = "gateway") {
            self.endpoint = endpoint
            self.historyPerPrincipal = historyPerPrincipal
            self.keyPrefix = keyPrefix
        }
    }

    /// What /healthz and /metrics show.
    public struct Status: Sendable, Equatable {
        public var commandsConnected: Bool
        public var subscribed: Bool
        public var epoch: String?
        public var lastEventId: Int64
        public var endpoint: String
        public var isHealthy: Bool { commandsConnected && subscribed }
    }

    /// The engine's view of Redis, written by the two connection threads and read by anyone.
    final class State: Sendable {
        struct Fields: Sendable {
            var epoch: String?
            var lastAllocatedId: Int64 = 0
            var lastSequence: Int64 = 0
            var commandsConnected = false
            var subscribed = false
        }

        private let fields = Mutex(Fields())

        func withLock<Result: Sendable>(_ body: (inout Fields) -> Result) -> Result {
            fields.withLock { body(&$0) }
        }
    }

    let settings: Settings
    let keys: RedisKeys
    let commands: RedisCommandQueue
    private let logger: Logger
    private let state = State()
    private let fanIn: RedisFanIn
    private let subscription: RedisSubscription
    private let metrics = RedisEngineMetrics()

    public init(settings: Settings, logger: Logger, local: any RedisLocalDelivery) {
        self.settings = settings
        self.logger = logger
        let keys = RedisKeys(prefix: settings.keyPrefix)
        self.keys = keys
        let state = self.state
        let metrics = self.metrics
        let commands = RedisCommandQueue(endpoint: settings.endpoint, logger: logger) { queueState in
            let connected = queueState == .up
            let wasConnected = state.withLock { state in
                defer { state.commandsConnected = connected }
                return state.commandsConnected
            }
            if wasConnected && !connected { metrics.disconnects.increment() }
        }
        self.commands = commands
        let initializer = Initializer(commands: commands, keys: keys, state: state, logger: logger, metrics: metrics)
        fanIn = RedisFanIn(
            local: local, logger: logger,
            readCounter: { sequenceFloor, idFloor in
                try initializer.run(sequenceFloor: sequenceFloor, idFloor: idFloor).get().sequence
            },
            onState: { subscribed in
                state.withLock { $0.subscribed = subscribed }
                },
            onResync: { metrics.resyncs.increment() })
        subscription = RedisSubscription(endpoint: settings.endpoint, channel: keys.channel, logger: logger, handler: fanIn)
        self.initializer = initializer
    }

    private let initializer: Initializer

    /// Checks the settings once (a refused AUTH or SELECT is a configuration error and throws
    /// here, at start), then starts both connections. An unreachable Redis does not throw: the
    /// node starts degraded and connects when Redis comes.
    public func start() throws(RedisConnectionError) {
        do {
            _ = try RedisConnection.open(settings.endpoint, timeout: .seconds(2))
        } catch where error.isConfigurationError {
            throw error
        } catch {
            logger.warning("redis engine: Redis is unreachable at start; serving degraded until it comes",
                           metadata: ["redis": "\(settings.endpoint)", "error": "\(error)"])
        }
        commands.start()
        subscription.start()
    }

    public func stop() {
        subscription.stop()
        commands.stop()
    }

    public var status: Status {
        let snapshot = state.withLock { $0 }
        return Status(commandsConnected: snapshot.commandsConnected, subscribed: snapshot.subscribed,
                      epoch: snapshot.epoch, lastEventId: max(snapshot.lastAllocatedId, fanIn.lastSeen.id),
                      endpoint: "\(settings.endpoint)")
    }

    // MARK: Ids

    /// The next global event id. Blocks for one round trip.
    public func allocateId() throws(GatewayError) -> Int64 {
        let reply = try withCurrentEpoch { epoch in
            evaluate(.allocate, keys: [keys.epoch, keys.ids], arguments: [epoch.bytes])
        }
        guard case .integer(let id) = reply else { throw refused(reply) }
        state.withLock { $0.lastAllocatedId = max($0.lastAllocatedId, Int64(id)) }
        return Int64(id)
    }

    // MARK: Publish

    /// Stores and publishes one event whose id came from `allocateId`; `payload` is the event
    /// JSON as clients receive it. Blocks for one round trip. Throws `engine.unavailable` when
    /// the event was not acknowledged: then it was not published — unless the connection broke
    /// after Redis ran the script, in which case a retry may deliver it twice (at least once).
    public func publish(id: Int64, host: String, sender: String, targets: [String], timestamp: String,
                        payload: [UInt8]) throws(GatewayError) {
        var seen = Set<String>()
        let streams = targets.filter { seen.insert($0).inserted }.map(keys.history)
        let body = RedisEnvelope.body(id: id, host: host, sender: sender, targets: targets, timestamp: timestamp, payload: payload)
        let reply = try withCurrentEpoch { epoch in
            evaluate(.publish, keys: [keys.epoch, keys.sequence] + streams,
                     arguments: [epoch.bytes, keys.channel.bytes, String(settings.historyPerPrincipal).bytes, body])
        }
        guard case .integer(let sequence) = reply else { throw refused(reply) }
        state.withLock { $0.lastSequence = max($0.lastSequence, Int64(sequence)) }
    }

    // MARK: Signals

    /// What became of a signal's PUBLISH.
    public enum SignalOutcome: Sendable, Equatable {
        /// Redis took it: every node (this one too) delivers it from its subscription.
        case published
        /// Redis never ran it (not connected, refused, shutting down): no node delivers it.
        case notSent(RedisConnectionError)
        /// The connection broke while it was on the wire: it may or may not have been published.
        case unknown(RedisConnectionError)
    }

    /// Typing indicators and read marks: one PUBLISH, nothing stored. Does not wait: `outcome`
    /// runs on the command queue's thread once Redis answered (at once while it is down).
    public func signal(host: String, sender: String, targets: [String], timestamp: String, payload: [UInt8],
                       outcome: @escaping @Sendable (SignalOutcome) -> Void) {
        let message = Array("0\n".utf8) + RedisEnvelope.body(id: 0, host: host, sender: sender, targets: targets,
                                                              timestamp: timestamp, payload: payload)
        let logger = self.logger
        commands.send([["PUBLISH".bytes, keys.channel.bytes, message]]) { result in
            let settled: SignalOutcome
            switch result {
            case .success(let replies):
                if case .error(let text)? = replies.first {
                    settled = .notSent(RedisConnectionError(code: "redis.command_failed", message: text))
                } else {
                    settled = .published
                }
            case .failure(let error) where error.code == "redis.disconnected":
                settled = .unknown(error)
            case .failure(let error):
                settled = .notSent(error)
            }
            if settled != .published {
                logger.debug("redis engine: a signal was not published", metadata: ["outcome": "\(settled)"])
            }
            outcome(settled)
        }
    }

    // MARK: Epoch

    /// Runs `attempt` with the epoch this node knows; when Redis answers EPOCHCHANGED (it lost
    /// its data), re-initializes (counters restored from what this node saw) and tries once more.
    private func withCurrentEpoch(_ attempt: (String) -> Result<RedisReply, RedisConnectionError>) throws(GatewayError) -> RedisReply {
        for _ in 0..<2 {
            let epoch: String
            if let known = state.withLock({ $0.epoch }) {
                epoch = known
            } else {
                let seen = fanIn.lastSeen
                let floors = state.withLock { (sequence: max($0.lastSequence, seen.sequence), id: max($0.lastAllocatedId, seen.id)) }
                switch initializer.run(sequenceFloor: floors.sequence, idFloor: floors.id) {
                case .success(let initialized): epoch = initialized.epoch
                case .failure(let error): throw .redisUnavailable(error)
                }
            }
            switch attempt(epoch) {
            case .failure(let error):
                throw .redisUnavailable(error)
            case .success(.error(let message)) where message.contains("EPOCHCHANGED"):
                logger.warning("redis engine: Redis lost its data (its epoch changed); ids continue from the highest this node knows, history starts over",
                               metadata: ["known_epoch": "\(epoch)"])
                metrics.epochChanges.increment()
                state.withLock { $0.epoch = nil }
            case .success(let reply):
                return reply
            }
        }
        throw .redisUnavailable(RedisConnectionError(code: "redis.command_failed", message: "Redis keeps changing its epoch"))
    }

    private func refused(_ reply: RedisReply) -> GatewayError {
        logger.error("redis engine: unexpected answer from Redis", metadata: ["reply": "\(reply)"])
        return .redisUnavailable(RedisConnectionError(code: "redis.command_failed", message: "\(reply)"))
    }

    /// EVALSHA, and EVAL when Redis does not know the script (it restarted and lost its cache).
    func evaluate(_ script: RedisScript, keys: [String], arguments: [[UInt8]]) -> Result<RedisReply, RedisConnectionError> {
        Self.evaluate(script, keys: keys, arguments: arguments, on: commands)
    }

    static func evaluate(_ script: RedisScript, keys: [String], arguments: [[UInt8]],
                         on commands: RedisCommandQueue) -> Result<RedisReply, RedisConnectionError> {
        let tail = [String(keys.count).bytes] + keys.map(\.bytes) + arguments
        let first = commands.sendAndWait([["EVALSHA".bytes, script.sha.bytes] + tail]).map { $0[0] }
        if case .success(.error(let message)) = first, message.hasPrefix("NOSCRIPT") {
            return commands.sendAndWait([["EVAL".bytes, script.source.bytes] + tail]).map { $0[0] }
        }
        return first
    }

    /// Runs `script` (no keys) once per argument list, in one round trip: a pipeline of EVALSHA.
    /// Those that answer NOSCRIPT (Redis restarted or flushed its scripts) run again after one
    /// SCRIPT LOAD, in a second round trip; the others are not repeated.
    static func evaluateEach(_ script: RedisScript, arguments: [[[UInt8]]],
                             on commands: RedisCommandQueue) -> Result<[RedisReply], RedisConnectionError> {
        guard !arguments.isEmpty else { return .success([]) }
        let calls = arguments.map { ["EVALSHA".bytes, script.sha.bytes, "0".bytes] + $0 }
        var replies: [RedisReply]
        switch commands.sendAndWait(calls) {
        case .failure(let error): return .failure(error)
        case .success(let answers): replies = answers
        }
        let missing = replies.indices.filter { index in
            if case .error(let message) = replies[index] { message.hasPrefix("NOSCRIPT") } else { false }
        }
        guard !missing.isEmpty else { return .success(replies) }
        switch commands.sendAndWait([["SCRIPT".bytes, "LOAD".bytes, script.source.bytes]] + missing.map { calls[$0] }) {
        case .failure(let error):
            return .failure(error)
        case .success(let retried):
            for (index, reply) in zip(missing, retried.dropFirst()) { replies[index] = reply }
            return .success(replies)
        }
    }
}

extension RedisEngine {
    /// Runs RedisScript.initialize and adopts the epoch it returns.
    struct Initializer: Sendable {
        let commands: RedisCommandQueue
        let keys: RedisKeys
        let state: State
        let logger: Logger
        let metrics: RedisEngineMetrics

        func run(sequenceFloor: Int64, idFloor: Int64) -> Result<(epoch: String, sequence: Int64), RedisConnectionError> {
            var generator = SystemRandomNumberGenerator()
            let candidate = String(generator.next() as UInt64, radix: 16)
            let result = RedisEngine.evaluate(.initialize, keys: [keys.epoch, keys.ids, keys.sequence],
                                              arguments: [candidate.bytes, String(idFloor).bytes, String(sequenceFloor).bytes],
                                              on: commands)
            return result.flatMap { reply in
                guard case .array(let parts) = reply, parts.count == 3, let epoch = parts[0].text,
                      let sequenceText = parts[2].text, let sequence = Int64(sequenceText) else {
                    return .failure(RedisConnectionError(code: "redis.command_failed", message: "initialize answered \(reply)"))
                }
                let previous = state.withLock { state -> String? in
                    defer { state.epoch = epoch }
                    return state.epoch
                }
                if let previous, previous != epoch {
                    logger.warning("redis engine: Redis lost its data (epoch changed); history before now is gone",
                                   metadata: ["previous_epoch": "\(previous)", "epoch": "\(epoch)"])
                    metrics.epochChanges.increment()
                }
                return .success((epoch, sequence))
            }
        }
    }
}

extension GatewayError {
    /// engine.unavailable (503, Retry-After): the event was not accepted; the client may retry.
    static func redisUnavailable(_ cause: RedisConnectionError) -> GatewayError {
        .engineUnavailable("Redis is unavailable (\(cause.message))")
    }
}

/// The engine's own series on /metrics (gateway_engine_up comes from /healthz's state).
final class RedisEngineMetrics: Sendable {
    let disconnects = Counter(label: "gateway_engine_disconnects_total", dimensions: [("kind", "redis")])
    let resyncs = Counter(label: "gateway_engine_resyncs_total", dimensions: [("kind", "redis")])
    let epochChanges = Counter(label: "gateway_engine_epoch_changes_total", dimensions: [("kind", "redis")])
}
