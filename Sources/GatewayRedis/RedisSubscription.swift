import Foundation
import GatewayCore
import Logging

/// What a subscription tells its owner, always on the subscription's own thread, in this order
/// for each connection: `subscribed`, `received`…, `caughtUp`, `received`…, then `disconnected`.
public protocol RedisSubscriptionHandler: Sendable {
    /// SUBSCRIBE is confirmed: from now on every message published on the channel reaches this
    /// connection. May block (e.g. read a counter over another connection); messages wait.
    /// Throwing drops this connection and retries with backoff.
    func subscribed() throws
    /// One message published on the channel (the payload bytes).
    func received(_ message: [UInt8])
    /// Every message published before `subscribed()` returned has been passed to `received`.
    func caughtUp()
    func disconnected(_ error: RedisConnectionError)
}

/// A SUBSCRIBE on one channel, on a thread of its own, that reconnects with backoff for as long
/// as it runs. hiredis's blocking API: a subscriber only ever waits for the next message.
public final class RedisSubscription: Sendable {
    private let endpoint: RedisEndpoint
    private let channel: String
    private let logger: Logger
    private let handler: any RedisSubscriptionHandler
    private let shared = Shared()

    public init(endpoint: RedisEndpoint, channel: String, logger: Logger, handler: any RedisSubscriptionHandler) {
        self.endpoint = endpoint
        self.channel = channel
        self.logger = logger
        self.handler = handler
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "redis-subscription"
        thread.start()
    }

    /// Unblocks the reading thread by shutting its socket down; the thread then exits.
    public func stop() {
        shared.stop()?.interrupt()
    }

    private func run() {
        var backoff = Backoff()
        while !shared.isStopped {
            var wasSubscribed = false
            do {
                try subscribeAndRead(onSubscribed: { wasSubscribed = true; backoff.reset() })
            } catch {
                if shared.isStopped { break }
                handler.disconnected(error)
                let delay = backoff.delay()
                let level: Logger.Level = wasSubscribed ? .warning : .info
                logger.log(level: level, "redis subscription lost; reconnecting", metadata: [
                    "redis": "\(endpoint)", "channel": "\(channel)", "error": "\(error)", "retry_in_ms": "\(delay.milliseconds)",
                ])
                shared.sleep(for: delay)
            }
        }
    }

    /// Returns only by throwing: the connection broke, the handler refused, or `stop()`.
    private func subscribeAndRead(onSubscribed: () -> Void) throws(RedisConnectionError) {
        let connection = try RedisConnection.open(endpoint, timeout: .seconds(2))
        guard shared.adopt(connection) else { throw RedisConnectionError(code: "redis.stopped", message: "stopped") }
        defer { shared.release() }
        connection.enableKeepAlive()
        let confirmation = try connection.command(["SUBSCRIBE", channel])
        guard case .array(let parts) = confirmation, parts.first?.text == "subscribe" else {
            throw RedisConnectionError(code: "redis.command_failed", message: "SUBSCRIBE \(channel) answered \(confirmation)")
        }
        connection.setTimeout(nil)   // from now on, waiting for the next message is normal
        onSubscribed()
        do {
            try handler.subscribed()
        } catch let error as RedisConnectionError {
            throw error
        } catch {
            throw RedisConnectionError(code: "redis.command_failed", message: "\(error)")
        }
        // A PING on a subscribed connection is answered in order with the messages: once its
        // "pong" arrives, everything published before it (so before subscribed() returned) is in.
        var reply = try connection.command(["PING"])
        var waitingForPong = true
        while true {
            if case .array(let parts) = reply, parts.count >= 2 {
                switch parts[0].text {
                case "message":
                    if parts.count == 3, case .string(let payload) = parts[2] { handler.received(payload) }
                case "pong" where waitingForPong:
                    waitingForPong = false
                    handler.caughtUp()
                default:
                    break
                }
            }
            reply = try connection.nextReply()
        }
    }

    // @unchecked: fields are read and written under `condition` only.
    private final class Shared: @unchecked Sendable {
        private let condition = NSCondition()
        private var stopped = false
        private var connection: RedisConnection?

        var isStopped: Bool { condition.lock(); defer { condition.unlock() }; return stopped }

        func adopt(_ connection: RedisConnection) -> Bool {
            condition.lock(); defer { condition.unlock() }
            if stopped { return false }
            self.connection = connection
            return true
        }

        func release() { condition.lock(); connection = nil; condition.unlock() }

        func stop() -> RedisConnection? {
            condition.lock(); defer { condition.unlock() }
            stopped = true
            condition.broadcast()
            return connection
        }

        func sleep(for delay: Duration) {
            condition.lock(); defer { condition.unlock() }
            let deadline = Date(timeIntervalSinceNow: delay.seconds)
            while !stopped && Date() < deadline { _ = condition.wait(until: deadline) }
        }
    }
}
