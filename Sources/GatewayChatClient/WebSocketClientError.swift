import NIOCore

/// Every failure the client reports itself carries a stable `code` (for tests and scripts) and a
/// sentence that says what happened. Codes are strings rather than enum cases so new ones can be
/// added without breaking callers that switch over them.
public struct WebSocketClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func timeout(_ timeout: TimeAmount) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.timeout",
                             message: "No WebSocket message arrived within \(milliseconds(timeout)) ms.")
    }

    static func handshakeTimeout(_ timeout: TimeAmount) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.handshake_timeout",
                             message: "The server did not answer the WebSocket upgrade within \(milliseconds(timeout)) ms.")
    }

    static func connectFailed(host: String, port: Int, _ underlying: Error) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.connect_failed",
                             message: "Could not open a TCP connection to \(host):\(port): \(underlying).")
    }

    static func handshakeFailed(_ detail: String) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.handshake_failed", message: "The WebSocket upgrade failed: \(detail).")
    }

    static func subprotocolNotOffered(_ chosen: String, offered: [String]) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.subprotocol_mismatch",
                             message: "The server chose subprotocol '\(chosen)', which the client did not offer (\(offered)).")
    }

    static let invalidPath = WebSocketClientError(
        code: "ws_client.invalid_path", message: "The request path must start with '/', e.g. \"/ws?token=...\".")

    static let notConnected = WebSocketClientError(
        code: "ws_client.not_connected", message: "The WebSocket connection is closed; connect again to send.")

    static let concurrentNext = WebSocketClientError(
        code: "ws_client.concurrent_next", message: "next() was called while another next() was still waiting; call it from one task at a time.")

    static func protocolViolation(_ detail: String) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.protocol_violation", message: "The server broke RFC 6455: \(detail).")
    }

    static func messageTooLarge(limit: Int) -> WebSocketClientError {
        WebSocketClientError(code: "ws_client.message_too_large",
                             message: "A message from the server exceeded \(limit) bytes; raise maxFrameSize if that is expected.")
    }

    private static func milliseconds(_ amount: TimeAmount) -> Int64 { amount.nanoseconds / 1_000_000 }
}

/// The server answered the upgrade request with a plain HTTP response instead of 101 (the
/// gateway's 401 for a missing token, for example). Status, headers and body are kept so tests
/// can check the JSON error the server sent.
public struct WebSocketUpgradeRefused: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let headers: [(String, String)]
    public let body: String

    public init(status: Int, headers: [(String, String)], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, matched case-insensitively as HTTP requires.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }

    public var description: String { "ws_client.upgrade_refused: HTTP \(status): \(body)" }
}
