import Foundation
import GatewayCore
import NIOHTTP1

/// The opening-handshake fields RFC 6455 §4.2.1 requires and NIO's upgrader does not check in
/// full: a `Sec-WebSocket-Key` that is base64 of 16 bytes and `Sec-WebSocket-Version: 13`.
/// A bad one is answered 400 before any upgrade.
enum WebSocketHandshakeCheck {
    static func isUpgradeAttempt(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "Upgrade"].contains { $0.lowercased() == "websocket" }
    }

    static func problem(_ head: HTTPRequestHead) -> GatewayError? {
        let versions = head.headers["Sec-WebSocket-Version"]
        guard versions.count == 1, versions[0].trimmingCharacters(in: .whitespaces) == "13" else {
            return GatewayError(code: "websocket.bad_version",
                                message: "Sec-WebSocket-Version must be 13 (RFC 6455).", status: 400)
        }
        let keys = head.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = Data(base64Encoded: keys[0].trimmingCharacters(in: .whitespaces)), key.count == 16 else {
            return GatewayError(code: "websocket.bad_key",
                                message: "Sec-WebSocket-Key must be the base64 encoding of 16 random bytes (RFC 6455).",
                                status: 400)
        }
        return nil
    }
}
