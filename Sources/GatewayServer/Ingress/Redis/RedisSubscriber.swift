import CHiredis
import Foundation
import GatewayCore
import GatewayJSON
import Logging
import NIOConcurrencyHelpers

/// The Redis ingress: pyams_chat publishes its events as JSON on the channel `chat:main`; every
/// message goes through the same router as HTTP and WebSocket events.
///
/// hiredis's blocking API on one dedicated thread: a subscriber only ever waits for the next
/// message, so a thread is simpler and cheaper than an async client on the event loops.
/// The application writing to Redis is trusted: its events keep the `source` they carry.
final class RedisSubscriber: @unchecked Sendable {
    private let settings: GatewayConfig.Redis
    private let logger: Logger
    private let deliver: @Sendable (JSON) -> Void
    private let state = NIOLockedValueBox<(stopped: Bool, fd: Int32?)>((false, nil))
    private var thread: Thread?

    init(settings: GatewayConfig.Redis, logger: Logger, deliver: @escaping @Sendable (JSON) -> Void) {
        self.settings = settings
        self.logger = logger
        self.deliver = deliver
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "redis-ingress"
        thread.start()
        self.thread = thread
    }

    /// Unblocks the reading thread by shutting its socket down; the thread then exits.
    func stop() {
        let fd = state.withLockedValue { state -> Int32? in
            state.stopped = true
            return state.fd
        }
        if let fd { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private var stopped: Bool { state.withLockedValue { $0.stopped } }

    private func run() {
        var backoff = 0.25
        while !stopped {
            if subscribeAndRead() { backoff = 0.25 }
            if stopped { return }
            logger.warning("redis ingress disconnected; retrying", metadata: ["retry_in_s": "\(backoff)"])
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(backoff * 2, 5)
        }
    }

    /// Returns true when it had subscribed successfully before the connection ended.
    private func subscribeAndRead() -> Bool {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        guard let context = redisConnectWithTimeout(settings.host, Int32(settings.port), timeout) else { return false }
        defer {
            state.withLockedValue { $0.fd = nil }
            redisFree(context)
        }
        if context.pointee.err != 0 {
            logger.warning("redis connect failed", metadata: ["error": "\(errorText(context))"])
            return false
        }
        timeout = timeval(tv_sec: 0, tv_usec: 0)
        state.withLockedValue { $0.fd = context.pointee.fd }
        if stopped { return false }
        guard let reply = redisCommandArgs(context, ["SUBSCRIBE", settings.channel]) else { return false }
        freeReplyObject(reply)
        logger.info("redis ingress subscribed", metadata: ["channel": "\(settings.channel)", "host": "\(settings.host):\(settings.port)"])
        while !stopped {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { return true }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            handle(reply)
            freeReplyObject(raw)
        }
        return true
    }

    /// A pub/sub message is the array ["message", channel, payload].
    private func handle(_ reply: UnsafeMutablePointer<redisReply>) {
        guard reply.pointee.type == REDIS_REPLY_ARRAY, reply.pointee.elements == 3,
              let elements = reply.pointee.element,
              let kind = elements[0], let payload = elements[2],
              string(kind) == "message", payload.pointee.type == REDIS_REPLY_STRING else { return }
        let bytes = UnsafeRawBufferPointer(start: payload.pointee.str, count: Int(payload.pointee.len))
        do {
            deliver(try JSON.parse(bytes))
        } catch {
            logger.warning("redis ingress: message is not JSON, dropped", metadata: ["error": "\(error)"])
        }
    }

    private func string(_ reply: UnsafeMutablePointer<redisReply>) -> String? {
        guard let chars = reply.pointee.str else { return nil }
        return String(cString: chars)
    }

    private func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    private func redisCommandArgs(_ context: UnsafeMutablePointer<redisContext>, _ args: [String]) -> UnsafeMutableRawPointer? {
        var cStrings = args.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var lengths = args.map { $0.utf8.count }
        return cStrings.withUnsafeMutableBufferPointer { pointers in
            pointers.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: args.count) { argv in
                redisCommandArgv(context, Int32(args.count), argv, &lengths)
            }
        }
    }
}
