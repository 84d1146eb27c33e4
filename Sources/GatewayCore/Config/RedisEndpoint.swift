// `[redis] url`: where the Redis server is and how to log in, in the URL form Python's redis
// library and pyams_chat's `pyams_chat.redis_server` setting use:
//   redis://[[username]:password@]host[:port][/database]
// Only `redis://` is accepted: the gateway links plain hiredis (no TLS, no unix sockets).

public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String = "127.0.0.1"
    public var port: Int = 6379
    /// Redis 6 ACL user; nil means the legacy `AUTH password` form.
    public var username: String? = nil
    public var password: String? = nil
    /// The database SELECTed after connecting (0 is Redis's default and needs no SELECT).
    public var database: Int = 0

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
                database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// The URL without the password, for logs.
    public var description: String {
        let login = password == nil ? (username.map { "\($0)@" } ?? "") : "\(username ?? ""):***@"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(login)\(hostPart):\(port)/\(database)"
    }

    /// Parses a `redis://` URL; the error is a sentence for the operator.
    public static func parse(_ text: String) -> Result<RedisEndpoint, RedisURLError> {
        let scheme = "redis://"
        guard text.hasPrefix(scheme) else {
            let given = text.split(separator: ":", maxSplits: 1).first.map(String.init) ?? text
            return .failure(RedisURLError(text.contains("://")
                ? "scheme '\(given)' is not supported (only redis://; rediss:// and unix:// need a TLS or socket build of hiredis)"
                : "expected redis://[:password@]host:port/db, got '\(text)'"))
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if rest.contains("?") || rest.contains("#") {
            return .failure(RedisURLError("query strings and fragments are not supported in '\(redacted(text))'"))
        }
        var endpoint = RedisEndpoint()
        // user:password@ — the last '@' separates it, since a password may contain '@' only encoded.
        if let at = rest.lastIndex(of: "@") {
            let login = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = login.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = percentDecoded(parts[0]) else { return .failure(RedisURLError("bad %-escape in the user name")) }
            endpoint.username = user.isEmpty ? nil : user
            if parts.count == 2 {
                guard let password = percentDecoded(parts[1]) else { return .failure(RedisURLError("bad %-escape in the password")) }
                endpoint.password = password
            } else if endpoint.username != nil {
                return .failure(RedisURLError("a user name needs a password: redis://user:password@host, or redis://:password@host"))
            }
        }
        var hostAndPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostAndPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(path), number <= 1_000_000 else {
                    return .failure(RedisURLError("the database must be a number after the '/', got '\(path)'"))
                }
                endpoint.database = number
            }
        }
        var portText: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { return .failure(RedisURLError("unclosed '[' in the host")) }
            endpoint.host = String(hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close])
            let after = hostAndPort[hostAndPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(RedisURLError("expected ':port' after the IPv6 host")) }
                portText = after.dropFirst()
            }
        } else if let colon = hostAndPort.lastIndex(of: ":") {
            endpoint.host = String(hostAndPort[..<colon])
            portText = hostAndPort[hostAndPort.index(after: colon)...]
        } else {
            endpoint.host = String(hostAndPort)
        }
        if endpoint.host.isEmpty { return .failure(RedisURLError("the URL has no host (e.g. redis://127.0.0.1:6379/0)")) }
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(portText), (1...65_535).contains(port) else {
                return .failure(RedisURLError("the port must be between 1 and 65535, got '\(portText)'"))
            }
            endpoint.port = port
        }
        return .success(endpoint)
    }

    /// The URL with any password replaced by "***", for error messages.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.lastIndex(of: "@"), at > schemeEnd.upperBound else { return text }
        let login = text[schemeEnd.upperBound..<at]
        guard let colon = login.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

public struct RedisURLError: Error, Sendable, Equatable {
    public let message: String
    init(_ message: String) { self.message = message }
}
