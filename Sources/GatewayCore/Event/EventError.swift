/// A refusal a client can see: a stable code, a sentence that says what to do, and the HTTP status.
/// Rendered as {"error": {"code": "...", "message": "..."}} on HTTP and in WebSocket error frames.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    public let status: Int

    public init(code: String, message: String, status: Int) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "\(code): \(message)" }

    public static func invalidEvent(_ code: String, _ message: String) -> GatewayError {
        GatewayError(code: "event.\(code)", message: message, status: 400)
    }
}
