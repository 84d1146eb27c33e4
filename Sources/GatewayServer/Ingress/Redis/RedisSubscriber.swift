import Foundation
import GatewayCore
import GatewayRedis
import GatewayJSON
import Logging
import NIOConcurrencyHelpers

/// The Redis ingress: pyams_chat publishes its events as JSON on the channel `chat:main`; every
/// message goes through the same router as HTTP and WebSocket events.
///
/// A blocking RedisConnection on one dedicated thread: a subscriber only ever waits for the next
/// message, so a thread is simpler and cheaper than an async client on the event loops.
/// The application writing to Redis is trusted: its events keep the `source` they carry.
final class RedisSubscriber: Sendable {
    private let settings: GatewayConfig.Redis
    private let logger: Logger
    private let deliver: @Sendable (JSON) -> Void
    /// Whether this node routes a message (the payload as received): with the redis engine,
    /// only the node that claims it (RedisIngressClaim); otherwise every node, for its own clients.
    private let shouldRoute: @Sendable (_ payload: [UInt8]) -> Bool
    /// The connection being read, so `stop()` can interrupt it from another thread.
    private let state = NIOLockedValueBox<(stopped: Bool, connection: RedisConnection?)>((false, nil))

    init(settings: GatewayConfig.Redis, logger: Logger,
         shouldRoute: @escaping @Sendable (_ payload: [UInt8]) -> Bool = { _ in true },
         deliver: @escaping @Sendable (JSON) -> Void) {
        self.settings = settings
        self.logger = logger
        self.shouldRoute = shouldRoute
        self.deliver = deliver
    }

    /// Subscribes once before returning, so a refused login (wrong password, database) is an
    /// error at start rather than a retry loop in the log. An unreachable server is not: the
    /// reading thread keeps retrying with backoff, as it does after any disconnection.
    func start() throws(RedisConnectionError) {
        var first: RedisConnection?
        do {
            first = try subscribe()
        } catch where error.isConfigurationError {
            throw error
        } catch {
            logger.warning("redis ingress: cannot connect yet; retrying", metadata: ["error": "\(error)"])
        }
        let connection = first
        let thread = Thread { [self] in run(first: connection) }
        thread.name = "redis-ingress"
        thread.start()
    }

    /// Unblocks the reading thread by shutting its socket down; the thread then exits.
    func stop() {
        let connection = state.withLockedValue { state -> RedisConnection? in
            state.stopped = true
            return state.connection
        }
        connection?.interrupt()
    }

    private var stopped: Bool { state.withLockedValue { $0.stopped } }

    private func run(first: RedisConnection?) {
        var next = first
        var backoff = 0.25
        while !stopped {
            do throws(RedisConnectionError) {
                let connection: RedisConnection
                if let pending = next {
                    connection = pending
                    next = nil
                } else {
                    connection = try subscribe()
                }
                backoff = 0.25
                read(connection)
            } catch {
                let level: Logger.Level = error.isConfigurationError ? .error : .warning
                logger.log(level: level, "redis ingress cannot subscribe", metadata: ["error": "\(error)"])
            }
            if stopped { return }
            logger.warning("redis ingress disconnected; retrying", metadata: ["retry_in_s": "\(backoff)"])
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(backoff * 2, 5)
        }
    }

    private func subscribe() throws(RedisConnectionError) -> RedisConnection {
        let connection = try RedisConnection.open(settings.url)
        let reply = try connection.command(["SUBSCRIBE", settings.channel])
        if case .error(let reason) = reply {
            throw RedisConnectionError(code: "redis.command_failed", message: "SUBSCRIBE \(settings.channel): \(reason)")
        }
        connection.setTimeout(nil)
        logger.info("redis ingress subscribed", metadata: ["channel": "\(settings.channel)", "redis": "\(settings.url)"])
        return connection
    }

    /// Reads messages until the connection breaks or `stop()` interrupts it.
    private func read(_ connection: RedisConnection) {
        let stoppedAlready = state.withLockedValue { state -> Bool in
            state.connection = connection
            return state.stopped
        }
        defer { state.withLockedValue { $0.connection = nil } }
        if stoppedAlready { return }
        while !stopped {
            guard let reply = try? connection.nextReply() else { return }
            handle(reply)
        }
    }

    /// A pub/sub message is the array ["message", channel, payload].
    private func handle(_ reply: RedisReply) {
        guard case .array(let parts) = reply, parts.count == 3, parts[0].text == "message",
              case .string(let payload) = parts[2] else { return }
        do {
            let event = try JSON.parse(payload)
            guard shouldRoute(payload) else { return }
            deliver(event)
        } catch {
            logger.warning("redis ingress: message is not JSON, dropped", metadata: ["error": "\(error)"])
        }
    }
}
