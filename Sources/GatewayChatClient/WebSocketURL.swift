/// A `ws://host:port/path?query` address split into what `WebSocketClient.connect` needs.
/// `wss://` is refused with a clear error: this client has no TLS (put a TLS proxy in front or
/// use the loopback listener).
public struct WebSocketURL: Sendable, Equatable {
    public let host: String
    public let port: Int
    public let path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public init(parsing text: String) throws {
        let lowered = text.lowercased()
        if lowered.hasPrefix("wss://") {
            throw WebSocketClientError(code: "ws_client.tls_unsupported",
                                       message: "wss:// needs TLS, which this client does not do; use ws:// (e.g. ws://127.0.0.1:8080/ws).")
        }
        guard lowered.hasPrefix("ws://") else {
            throw Self.invalid(text, "it must start with ws://")
        }
        let rest = text.dropFirst("ws://".count)
        let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[rest.startIndex..<pathStart]
        var path = String(rest[pathStart...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }

        var hostPart = Substring(authority)
        var port = 80
        if hostPart.hasPrefix("[") {
            // IPv6 literal: [::1]:8080
            guard let close = hostPart.firstIndex(of: "]") else { throw Self.invalid(text, "an IPv6 host needs a closing ']'") }
            let afterHost = hostPart[hostPart.index(after: close)...]
            let literal = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if afterHost.hasPrefix(":") { port = try Self.port(afterHost.dropFirst(), in: text) }
            else if !afterHost.isEmpty { throw Self.invalid(text, "unexpected text after the IPv6 host") }
            hostPart = literal
        } else if let colon = hostPart.lastIndex(of: ":") {
            port = try Self.port(hostPart[hostPart.index(after: colon)...], in: text)
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw Self.invalid(text, "the host is missing") }
        self.init(host: String(hostPart), port: port, path: path)
    }

    private static func port(_ text: Substring, in url: String) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw invalid(url, "the port must be a number from 1 to 65535")
        }
        return port
    }

    private static func invalid(_ url: String, _ reason: String) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.invalid_url", message: "'\(url)' is not a usable WebSocket URL: \(reason).")
    }
}
