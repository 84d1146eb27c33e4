import GatewayJSON

/// What travels through Redis for one event or signal — the PUBLISH message, and the same bytes
/// in each target principal's history stream:
///
///     <sequence>\n<routing header JSON>\n<event JSON, exactly as clients receive it>
///
/// The sequence is the publish order (the publish script's counter; 0 for a signal). The routing
/// header (`{"id":…,"host":…,"sender":…,"targets":[…],"timestamp":…}`) lets a node decide who
/// gets the event without parsing it; the event bytes go to WebSocket clients unchanged.
/// Signals (typing, read marks) have sequence 0 and id 0 and are never stored.
public struct RedisEnvelope: Sendable, Equatable {
    public let sequence: Int64
    public let id: Int64
    public let host: String
    public let sender: String
    public let targets: [String]
    public let timestamp: String
    public let payload: [UInt8]

    public init(sequence: Int64, id: Int64, host: String, sender: String, targets: [String], timestamp: String,
                payload: [UInt8]) {
        self.sequence = sequence
        self.id = id
        self.host = host
        self.sender = sender
        self.targets = targets
        self.timestamp = timestamp
        self.payload = payload
    }

    public var isSignal: Bool { sequence == 0 }

    /// The message without its sequence line: "<header>\n<payload>" (the publish script puts
    /// "<sequence>\n" in front).
    static func body(id: Int64, host: String, sender: String, targets: [String], timestamp: String, payload: [UInt8]) -> [UInt8] {
        let header = JSON.object()
        header.set("id", .integer(Int(id)))
        header.set("host", host)
        header.set("sender", sender)
        header.set("targets", .strings(targets))
        header.set("timestamp", timestamp)
        var body = header.encoded()   // compact JSON: never contains a raw newline
        body.append(0x0A)
        body += payload
        return body
    }

    public enum DecodeError: Error, Equatable {
        case malformed(String)
    }

    /// Reads a message written by RedisScript.publish (or a signal: "0\n" + body).
    public static func decode(_ message: [UInt8]) throws(DecodeError) -> RedisEnvelope {
        guard let firstBreak = message.firstIndex(of: 0x0A) else { throw .malformed("no sequence line") }
        guard let sequence = Int64(String(decoding: message[..<firstBreak], as: UTF8.self)), sequence >= 0 else {
            throw .malformed("the sequence line is not a number")
        }
        let headerStart = firstBreak + 1
        guard let secondBreak = message[headerStart...].firstIndex(of: 0x0A) else { throw .malformed("no header line") }
        let header: JSON
        do {
            header = try JSON.parse(Array(message[headerStart..<secondBreak]))
        } catch {
            throw .malformed("the header is not JSON: \(error)")
        }
        let view = header.view
        guard let id = view["id"].int, let host = view["host"].string, let sender = view["sender"].string,
              let targets = view["targets"].strings, let timestamp = view["timestamp"].string else {
            throw .malformed("the header lacks id, host, sender, targets or timestamp")
        }
        return RedisEnvelope(sequence: sequence, id: Int64(id), host: host, sender: sender, targets: targets,
                             timestamp: timestamp, payload: Array(message[(secondBreak + 1)...]))
    }
}
