import Foundation

/// The terminal chat's protocol logic, kept free of I/O so it can be unit-tested: it turns typed
/// lines into client frames and server frames into printable lines.
///
/// Client frames (see the gateway's client protocol):
///   {"type":"publish","ref":"1","event":{"category":...,"action":"message","message":...,"target":{"principals":[...]}}}
///   {"type":"typing","ref":"2","target":{"principals":[...]}}
public struct ChatSession: Sendable {
    public let recipients: [String]
    public let category: String
    /// Event times are printed in this zone (the terminal's own by default).
    public let timeZone: TimeZone
    private var lastRef = 0

    public init(recipients: [String], category: String = "chat.message", timeZone: TimeZone = .current) {
        self.recipients = recipients
        self.category = category
        self.timeZone = timeZone
    }

    /// What one typed line asks for.
    public enum Input: Equatable, Sendable {
        case publish(String)
        case typing
        case quit
        case nothing
    }

    public static func interpret(line: String) -> Input {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        switch trimmed {
        case "": return .nothing
        case "/typing": return .typing
        case "/quit": return .quit
        default: return .publish(line)
        }
    }

    /// The frame to send for a line, or nil when the line sends nothing (empty, /quit).
    /// Every frame gets the next `ref` ("1", "2", ...), so acks and errors can be matched.
    public mutating func frame(for input: Input) -> String? {
        switch input {
        case .publish(let text): return publishFrame(message: text)
        case .typing: return typingFrame()
        case .quit, .nothing: return nil
        }
    }

    public mutating func publishFrame(message: String) -> String {
        let event: [String: Any] = [
            "category": category,
            "action": "message",
            "message": message,
            "target": ["principals": recipients],
        ]
        return Self.encode(["type": "publish", "ref": nextRef(), "event": event])
    }

    public mutating func typingFrame() -> String {
        Self.encode(["type": "typing", "ref": nextRef(), "target": ["principals": recipients]])
    }

    /// The line to print for a frame from the server, or nil for frames shown quietly (acks).
    public func render(incoming text: String) -> String? {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data),
              let frame = object as? [String: Any] else {
            return "! chat.unreadable_frame: \(text)"
        }
        switch frame["type"] as? String {
        case "ack":
            return nil
        case "error":
            let error = frame["error"] as? [String: Any] ?? frame
            let code = error["code"] as? String ?? "error"
            let message = error["message"] as? String ?? ""
            return "! \(code): \(message)"
        case "typing":
            return "* \(Self.sender(of: frame)) is typing…"
        case "read":
            let id = frame["id"].map { "\($0)" } ?? "?"
            return "* \(Self.sender(of: frame)) read message \(id)"
        case nil:
            return renderEvent(frame)
        case let other?:
            return "! chat.unknown_frame: a '\(other)' frame this client does not know"
        }
    }

    private func renderEvent(_ event: [String: Any]) -> String {
        let time = clockTime(of: event["timestamp"])
        var body = event["message"] as? String ?? event["title"] as? String ?? ""
        if body.isEmpty, let category = event["category"] as? String { body = "[\(category)]" }
        return "\(time) \(Self.sender(of: event)): \(body)"
    }

    /// "HH:MM:SS" in `timeZone`; the event's own timestamp when it has a readable one, so a
    /// replayed history shows when things were said, not when they were received.
    public func clockTime(of timestamp: Any?) -> String {
        let date = Self.date(from: timestamp) ?? Date()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .minute, .second], from: date)
        return String(format: "%02d:%02d:%02d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    // MARK: Helpers

    private mutating func nextRef() -> String {
        lastRef += 1
        return String(lastRef)
    }

    private static func sender(of frame: [String: Any]) -> String {
        let source = frame["source"] as? [String: Any]
        if let title = source?["title"] as? String, !title.isEmpty { return title }
        if let id = source?["id"] as? String, !id.isEmpty { return id }
        return "someone"
    }

    private static func date(from timestamp: Any?) -> Date? {
        if let text = timestamp as? String {
            let withFraction = ISO8601DateFormatter()
            withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
        }
        if let number = timestamp as? NSNumber {
            // Seconds or milliseconds since 1970: anything past the year 33658 in seconds is ms.
            let value = number.doubleValue
            return Date(timeIntervalSince1970: value > 1e12 ? value / 1000 : value)
        }
        return nil
    }

    private static func encode(_ object: [String: Any]) -> String {
        // Sorted keys make frames stable for tests and logs.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
