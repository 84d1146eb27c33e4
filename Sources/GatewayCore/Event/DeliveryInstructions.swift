import GatewayJSON

/// What a publisher asks of delivery beyond "now, over WebSocket" (django-notifs' delayed and
/// tentative notifications). Read from the published object; never part of the delivered event.
///
///     "countdown": 300                               hold the event, deliver it 300 s later
///     "fallback": {"after": 1800, "via": ["smtp"]}   recipients who have not read it 1800 s
///                                                    after delivery get it through smtp
public struct DeliveryInstructions: Sendable, Equatable {
    public struct Fallback: Sendable, Equatable {
        public var afterSeconds: Int
        public var via: [String]
        public init(afterSeconds: Int, via: [String]) {
            self.afterSeconds = afterSeconds
            self.via = via
        }
    }

    public var countdownSeconds: Int?
    public var fallback: Fallback?

    public init(countdownSeconds: Int? = nil, fallback: Fallback? = nil) {
        self.countdownSeconds = countdownSeconds
        self.fallback = fallback
    }

    /// Longest hold or fallback delay: 30 days.
    public static let longestDelay = 30 * 86_400

    /// `messengers`: aliases in the running chain, so a typo is a 400 now, not a dead letter later.
    public static func parse(_ input: JSONView, messengers: [String]) throws(GatewayError) -> DeliveryInstructions {
        var result = DeliveryInstructions()
        let countdown = input["countdown"]
        if countdown.exists && !countdown.isNull {
            guard let seconds = countdown.int, (1...longestDelay).contains(seconds) else {
                throw .invalidEvent("bad_countdown", "'countdown' must be a whole number of seconds from 1 to \(longestDelay).")
            }
            result.countdownSeconds = seconds
        }
        let fallback = input["fallback"]
        if fallback.exists && !fallback.isNull {
            let shape = "'fallback' must be an object like {\"after\": 1800, \"via\": [\"smtp\"]}"
            guard fallback.isObject, fallback.members.allSatisfy({ ["after", "via"].contains($0.key) }) else {
                throw .invalidEvent("bad_fallback", "\(shape).")
            }
            guard let after = fallback["after"].int, (0...longestDelay).contains(after) else {
                throw .invalidEvent("bad_fallback", "\(shape); 'after' is seconds from 0 to \(longestDelay).")
            }
            guard let via = fallback["via"].strings, !via.isEmpty else {
                throw .invalidEvent("bad_fallback", "\(shape); 'via' lists one or more messenger aliases.")
            }
            for alias in via where !messengers.contains(alias) {
                let known = messengers.isEmpty ? "none is configured" : "configured: \(messengers.joined(separator: ", "))"
                throw .invalidEvent("unknown_messenger", "'fallback.via' names '\(alias)', which is not a messenger of this gateway (\(known)).")
            }
            result.fallback = Fallback(afterSeconds: after, via: Array(Set(via)).sorted())
        }
        return result
    }

    /// The fallback as stored with a held event.
    public var fallbackJSON: JSON {
        guard let fallback else { return .null() }
        let object = JSON.object()
        object.set("after", .integer(fallback.afterSeconds))
        object.set("via", .strings(fallback.via))
        return object
    }

    public static func fallback(from stored: JSONView) -> Fallback? {
        guard let after = stored["after"].int, let via = stored["via"].strings else { return nil }
        return Fallback(afterSeconds: after, via: via)
    }
}
