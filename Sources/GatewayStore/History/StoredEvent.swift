// One event as the history keeps it: who sent it, to which principals, and the exact bytes that
// were delivered, so replaying history re-sends what clients saw live.
import GatewayJSON

public struct StoredEvent: Sendable, Equatable {
    /// The gateway's event id; increasing over time (also across restarts, see lastEventId()).
    public let id: Int64
    /// The host (Origin) the event belongs to; history never crosses hosts.
    public let host: String
    /// The identity that sent the event; it never gets its own events back from history.
    public let sender: String
    /// The event's target principals.
    public let principals: [String]
    /// ISO 8601, e.g. "2026-11-22T10:00:00.000Z".
    public let timestamp: String
    /// The encoded event JSON as delivered.
    public let payload: [UInt8]

    public init(id: Int64, host: String, sender: String, principals: [String], timestamp: String, payload: [UInt8]) {
        self.id = id
        self.host = host
        self.sender = sender
        self.principals = principals
        self.timestamp = timestamp
        self.payload = payload
    }
}

/// Principals are stored as a JSON array of strings: any string is allowed in a principal,
/// so a separator-joined list could not be decoded back safely.
enum PrincipalList {
    /// Hand-written because the writer calls it for every event: building a jansson array costs
    /// an allocation per element. Output is standard JSON that jansson and SQLite's json_each read.
    static func encode(_ principals: [String]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(principals.reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, principal) in principals.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in principal.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(byte)
                case 0..<0x20:
                    bytes.append(contentsOf: Array("\\u00".utf8))
                    bytes.append(hexDigits[Int(byte >> 4)])
                    bytes.append(hexDigits[Int(byte & 0x0f)])
                default:
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func decode(_ text: String) -> [String] {
        guard let parsed = try? JSON.parse(text) else { return [] }
        return parsed.view.strings ?? []
    }
}
