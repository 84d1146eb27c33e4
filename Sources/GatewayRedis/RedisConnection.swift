import CHiredis
import GatewayCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a Redis connection could not be set up or a command failed. `code` is stable:
///   redis.unreachable     TCP connect failed or timed out (worth retrying)
///   redis.auth_failed     the server refused AUTH (wrong password or user)
///   redis.auth_required   the server wants a password and the url has none
///   redis.select_failed   SELECT of the url's database was refused
///   redis.disconnected    the connection broke or a reply did not come within the timeout
///   redis.command_failed  the server answered a command with an error
public struct RedisConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A login or database problem is configuration: retrying cannot fix it.
    public var isConfigurationError: Bool { ["redis.auth_failed", "redis.auth_required", "redis.select_failed"].contains(code) }
    public var description: String { "\(code): \(message)" }
}

/// A reply, copied out of hiredis's reply tree (which is freed at once).
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case error(String)
    case integer(Int)
    case array([RedisReply])
    case null

    public var text: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }
}

/// One blocking hiredis connection, connected, logged in and on the url's database, or an error
/// saying which of those failed. Every Redis user in the gateway (the ingress subscriber, the
/// notifications writer, an engine) opens its connections here, so AUTH, SELECT and timeouts
/// behave the same everywhere.
///
/// Blocking on purpose: callers run it on a thread of their own, never on an event loop.
// @unchecked: owned by one thread at a time (opened by one, handed to the thread that reads);
// only `interrupt()` may be called from elsewhere, and it only shuts the socket down.
public final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    public let endpoint: RedisEndpoint

    /// Connects, AUTHs (when the url has a password), SELECTs (when the database is not 0) and
    /// PINGs (so a server that wants a password says so now, not at the first real command).
    /// `timeout` bounds the connect and each of these replies.
    public static func open(_ endpoint: RedisEndpoint, timeout: Duration = .seconds(2)) throws(RedisConnectionError) -> RedisConnection {
        let limit = timeval(duration: timeout)
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), limit) else {
            throw RedisConnectionError(code: "redis.unreachable", message: "cannot allocate a hiredis context")
        }
        let connection = RedisConnection(context: context, endpoint: endpoint)
        if context.pointee.err != 0 {
            throw RedisConnectionError(code: "redis.unreachable", message: "\(endpoint): \(connection.errorText)")
        }
        connection.setTimeout(timeout)
        if let password = endpoint.password {
            let arguments = endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            if case .error(let reason) = try connection.command(arguments) {
                throw RedisConnectionError(code: "redis.auth_failed", message: "\(endpoint) refused AUTH: \(reason)")
            }
        }
        if endpoint.database != 0, case .error(let reason) = try connection.command(["SELECT", String(endpoint.database)]) {
            throw RedisConnectionError(code: "redis.select_failed", message: "\(endpoint): SELECT \(endpoint.database) refused: \(reason)")
        }
        if case .error(let reason) = try connection.command(["PING"]) {
            let code = reason.hasPrefix("NOAUTH") ? "redis.auth_required" : "redis.command_failed"
            throw RedisConnectionError(code: code, message: "\(endpoint): \(reason) (put the password in the url: redis://:password@host:port/db)")
        }
        return connection
    }

    private init(context: UnsafeMutablePointer<redisContext>, endpoint: RedisEndpoint) {
        self.context = context
        self.endpoint = endpoint
    }

    deinit { redisFree(context) }

    /// Bounds every later reply; `nil` waits forever (a subscriber waiting for the next message).
    public func setTimeout(_ timeout: Duration?) {
        _ = redisSetTimeout(context, timeout.map { timeval(duration: $0) } ?? timeval(tv_sec: 0, tv_usec: 0))
    }

    /// Sends one command and reads its reply. A Redis error reply is returned as `.error`, not
    /// thrown: only a broken connection throws.
    @discardableResult
    public func command(_ arguments: [String]) throws(RedisConnectionError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisConnectionError) -> RedisReply {
        let raw = arguments.withCStringArguments { count, argv, lengths in
            redisCommandArgv(context, count, argv, lengths)
        }
        guard let raw else { throw brokenConnection() }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Queues a command without waiting for its reply: several appended commands go out in one
    /// write at the next `nextReply()` (pipelining), whose replies come back in order.
    public func append(_ arguments: [[UInt8]]) {
        _ = arguments.withCStringArguments { count, argv, lengths in
            redisAppendCommandArgv(context, count, argv, lengths)
        }
    }

    /// TCP keep-alive probes: a connection that only waits for pub/sub messages notices a peer
    /// that vanished without closing (a network partition) instead of waiting forever.
    public func enableKeepAlive() {
        _ = redisEnableKeepAlive(context)
    }

    /// Reads the next reply the server pushes (pub/sub messages).
    public func nextReply() throws(RedisConnectionError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw brokenConnection() }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Unblocks a thread waiting in `command` or `nextReply` (which then throws); the only
    /// call that is safe from another thread.
    public func interrupt() {
        shutdown(context.pointee.fd, Int32(SHUT_RDWR))
    }

    private func brokenConnection() -> RedisConnectionError {
        RedisConnectionError(code: "redis.disconnected", message: "\(endpoint): \(errorText.isEmpty ? "connection closed" : errorText)")
    }

    private var errorText: String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}

extension RedisReply {
    init(_ reply: UnsafeMutablePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            self = .string(Array(UnsafeRawBufferPointer(start: node.str, count: Int(node.len))))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: UnsafeRawBufferPointer(start: node.str, count: Int(node.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: UnsafeRawBufferPointer(start: node.str, count: Int(node.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(node.integer))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<Int(node.elements)).map { index in
                node.element[index].map(RedisReply.init) ?? .null
            })
        default:
            self = .null
        }
    }
}

extension timeval {
    init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with argc, argv and argvlen as hiredis's redisCommandArgv wants them.
    func withCStringArguments<Result>(_ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result) -> Result {
        let buffers = map { bytes -> UnsafeMutableBufferPointer<CChar> in
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: Swift.max(1, bytes.count))
            bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { _ = buffer.initialize(fromContentsOf: $0) }
            }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var pointers: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0.baseAddress) }
        let lengths = map(\.count)
        return pointers.withUnsafeMutableBufferPointer { argv in
            body(Int32(count), argv.baseAddress!, lengths)
        }
    }
}
