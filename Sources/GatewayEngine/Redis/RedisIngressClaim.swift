import COpenSSL
import GatewayCore
import GatewayRedis
import Logging

/// One node routes each message of the application's channel (pyams_chat's `chat:main`).
///
/// With `[engine] kind = "redis"` every node subscribes to that channel and receives every
/// message, but an event one node routes already reaches every node's connections (through
/// `{gateway}:events`): if each node routed it, each recipient would get it once per node. So the
/// nodes race for it: the first whose `SET {gateway}:ingress:<digest> 1 NX EX <window>` succeeds
/// routes it, the others drop it. The digest is SHA-256 of the channel and the exact payload, so
/// two messages differing in one byte (pyams_chat's timestamps have microseconds) are two
/// messages; the same bytes published again within `window` seconds count as one.
///
/// Blocking, on a connection of its own (reopened after a failure): the Redis ingress thread
/// calls it, never an event loop. When Redis cannot answer, the message is routed anyway: it may
/// then arrive twice, never not at all.
public final class RedisIngressClaim: @unchecked Sendable {  // `connection` is used by the one ingress thread only
    private let endpoint: RedisEndpoint
    private let keyPrefix: String
    private let window: Int
    private let logger: Logger
    private var connection: RedisConnection?

    public init(endpoint: RedisEndpoint, keyPrefix: String = "gateway", windowSeconds: Int = 600, logger: Logger) {
        self.endpoint = endpoint
        self.keyPrefix = keyPrefix
        self.window = windowSeconds
        self.logger = logger
    }

    /// True when this node is the first to see this message and must route it.
    public func claim(channel: String, payload: [UInt8]) -> Bool {
        let key = "{\(keyPrefix)}:ingress:" + Self.digest(channel: channel, payload: payload)
        for attempt in 1...2 {
            do throws(RedisConnectionError) {
                let redis: RedisConnection
                if let open = connection { redis = open } else { redis = try RedisConnection.open(endpoint); connection = redis }
                switch try redis.command(["SET", key, "1", "NX", "EX", String(window)]) {
                case .null: return false             // another node routes it
                case .error(let reason):
                    logger.warning("redis ingress: claim refused; routing the message here", metadata: ["error": "\(reason)"])
                    return true
                default: return true
                }
            } catch {
                connection = nil
                if attempt == 2 || error.isConfigurationError {
                    logger.warning("redis ingress: cannot claim the message; routing it here (other nodes may too)",
                                   metadata: ["error": "\(error)"])
                    return true
                }
            }
        }
        return true
    }

    static func digest(channel: String, payload: [UInt8]) -> String {
        let input = Array(channel.utf8) + [0] + payload
        var digest = [UInt8](repeating: 0, count: 32)
        _ = SHA256(input, input.count, &digest)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
