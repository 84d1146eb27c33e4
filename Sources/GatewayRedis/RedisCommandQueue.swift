import Foundation
import GatewayCore
import Logging

/// One Redis connection on a thread of its own that runs the commands callers queue from any
/// thread (event loops included: `send` never blocks on the network). Everything queued while a
/// batch was on the wire goes out as the next batch in one write (pipelining), so one round trip
/// serves many publishes under load.
///
/// While Redis is unreachable, commands fail at once with `redis.unavailable` (the caller answers
/// 503 rather than waiting), and the thread reconnects with backoff. An idle connection is PINGed
/// every `pingInterval`, so a Redis that went away is noticed (and `state` says so) before the
/// next real command, not by it.
public final class RedisCommandQueue: Sendable {
    public typealias Command = [[UInt8]]
    /// Runs on the queue's thread: keep it short (complete a promise, hop elsewhere).
    public typealias Completion = @Sendable (Result<[RedisReply], RedisConnectionError>) -> Void

    public enum State: Sendable, Equatable {
        case connecting
        case up
        case down(RedisConnectionError)
        case stopped
    }

    private let endpoint: RedisEndpoint
    private let logger: Logger
    private let pingInterval: Duration
    private let replyTimeout: Duration
    private let shared = SharedState()
    private let onStateChange: @Sendable (State) -> Void

    /// - Parameters:
    ///   - replyTimeout: a reply that does not come within it counts as a broken connection.
    ///   - onStateChange: called on the queue's thread whenever the connection goes up or down.
    public init(endpoint: RedisEndpoint, logger: Logger, pingInterval: Duration = .seconds(1),
                replyTimeout: Duration = .seconds(5), onStateChange: @escaping @Sendable (State) -> Void = { _ in }) {
        self.endpoint = endpoint
        self.logger = logger
        self.pingInterval = pingInterval
        self.replyTimeout = replyTimeout
        self.onStateChange = onStateChange
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "redis-commands"
        thread.start()
    }

    /// Fails what is queued, interrupts a batch on the wire and ends the thread.
    public func stop() {
        let connection = shared.withLock { state -> RedisConnection? in
            state.stopped = true
            return state.connection
        }
        connection?.interrupt()
    }

    public var state: State { shared.withLock { $0.state } }

    /// Queues `commands` (sent together, replies in the same order) and returns at once.
    public func send(_ commands: [Command], completion: @escaping Completion) {
        let refused = shared.withLock { state -> RedisConnectionError? in
            if state.stopped { return RedisConnectionError(code: "redis.stopped", message: "the gateway is shutting down") }
            state.queue.append(Pending(commands: commands, completion: completion))
            return nil
        }
        if let refused { completion(.failure(refused)) }
    }

    /// Blocking form for threads that may wait (not event loops): the replies, or the error.
    public func sendAndWait(_ commands: [Command]) -> Result<[RedisReply], RedisConnectionError> {
        let box = ResultBox()
        send(commands) { box.set($0) }
        return box.wait()
    }

    // MARK: The queue's thread

    private struct Pending {
        let commands: [Command]
        let completion: Completion
    }

    private func run() {
        var backoff = Backoff()
        var connection: RedisConnection?
        var retryAt = ContinuousClock.now
        var lastActivity = ContinuousClock.now
        var lastError = RedisConnectionError(code: "redis.unavailable", message: "not connected yet")
        while true {
            let batch: [Pending]? = shared.waitForWork(
                until: connection == nil ? retryAt : lastActivity + pingInterval,
                maximum: 512)
            guard let batch else { break }   // stopped
            if connection == nil {
                if ContinuousClock.now >= retryAt {
                    publish(.connecting)
                    do {
                        let opened = try RedisConnection.open(endpoint, timeout: .seconds(2))
                        opened.setTimeout(replyTimeout)
                        connection = opened
                        shared.withLock { $0.connection = opened }
                        backoff.reset()
                        publish(.up)
                        logger.info("redis connected", metadata: ["redis": "\(endpoint)"])
                    } catch {
                        lastError = error
                        let delay = backoff.delay()
                        retryAt = .now + delay
                        publish(.down(error))
                        logger.warning("redis unreachable; retrying", metadata: [
                            "redis": "\(endpoint)", "error": "\(error)", "retry_in_ms": "\(delay.milliseconds)",
                        ])
                    }
                }
                guard connection != nil else {
                    let refusal = RedisConnectionError(code: "redis.unavailable", message: "Redis is unreachable (\(lastError.message))")
                    batch.forEach { $0.completion(.failure(refusal)) }
                    continue
                }
            }
            guard let open = connection else { continue }
            let work = batch.isEmpty ? [Pending(commands: [["PING".bytes]], completion: { _ in })] : batch
            if let error = execute(work, on: open) {
                lastError = error
                connection = nil
                shared.withLock { $0.connection = nil }
                let delay = backoff.delay()
                retryAt = .now + delay
                publish(.down(error))
                logger.warning("redis connection lost; reconnecting", metadata: [
                    "redis": "\(endpoint)", "error": "\(error)", "retry_in_ms": "\(delay.milliseconds)",
                ])
            }
            lastActivity = .now
        }
        publish(.stopped)
    }

    /// Writes the whole batch, then reads the replies in order. On a broken connection the
    /// commands whose replies did not come fail with that error (they may or may not have run).
    private func execute(_ batch: [Pending], on connection: RedisConnection) -> RedisConnectionError? {
        for pending in batch {
            for command in pending.commands { connection.append(command) }
        }
        var finished = 0
        do {
            for pending in batch {
                var replies: [RedisReply] = []
                replies.reserveCapacity(pending.commands.count)
                for _ in pending.commands { replies.append(try connection.nextReply()) }
                finished += 1
                pending.completion(.success(replies))
            }
            return nil
        } catch {
            for pending in batch[finished...] { pending.completion(.failure(error)) }
            return error
        }
    }

    private func publish(_ state: State) {
        let changed = shared.withLock { shared -> Bool in
            defer { shared.state = state }
            return shared.state != state
        }
        if changed { onStateChange(state) }
    }

    // MARK: State shared with callers

    // @unchecked: every field is read and written under `condition` only.
    private final class SharedState: @unchecked Sendable {
        private let condition = NSCondition()
        private var fields = Fields()

        struct Fields {
            var queue: [Pending] = []
            var stopped = false
            var state: State = .connecting
            var connection: RedisConnection?
        }

        func withLock<T>(_ body: (inout Fields) -> T) -> T {
            condition.lock()
            defer {
                condition.signal()
                condition.unlock()
            }
            return body(&fields)
        }

        /// Waits until work is queued, `deadline` passes (an empty batch: time to ping or
        /// reconnect) or the queue stops (nil; everything still queued fails).
        func waitForWork(until deadline: ContinuousClock.Instant, maximum: Int) -> [Pending]? {
            condition.lock()
            while fields.queue.isEmpty && !fields.stopped && ContinuousClock.now < deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                _ = condition.wait(until: Date(timeIntervalSinceNow: remaining.seconds))
            }
            if fields.stopped {
                let abandoned = fields.queue
                fields.queue.removeAll()
                fields.connection = nil
                condition.unlock()
                let error = RedisConnectionError(code: "redis.stopped", message: "the gateway is shutting down")
                abandoned.forEach { $0.completion(.failure(error)) }
                return nil
            }
            let count = min(maximum, fields.queue.count)
            let batch = Array(fields.queue.prefix(count))
            fields.queue.removeFirst(count)
            condition.unlock()
            return batch
        }
    }
}

/// One result handed from the queue's thread to a thread waiting for it.
private final class ResultBox: @unchecked Sendable {   // @unchecked: guarded by `condition`
    private let condition = NSCondition()
    private var result: Result<[RedisReply], RedisConnectionError>?

    func set(_ value: Result<[RedisReply], RedisConnectionError>) {
        condition.lock()
        result = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Result<[RedisReply], RedisConnectionError> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}

extension String {
    /// The UTF-8 bytes of a command word or argument.
    public var bytes: [UInt8] { Array(utf8) }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }

    var milliseconds: Int { Int(seconds * 1000) }
}
