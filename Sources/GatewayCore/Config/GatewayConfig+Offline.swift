// [offline]: delivery through messenger plugins when a recipient is offline or has not read an
// event (fallbacks, default policies), events held by a countdown, retries and dead letters.

extension GatewayConfig {
    public struct Offline: Sendable, Equatable {
        /// SQLite file for addresses, opt-outs, read marks, held events and deliveries; nil:
        /// `offline.sqlite` next to [history] path.
        public var path: String? = nil
        /// Attempts per delivery before it is dead-lettered (counted, logged, never retried).
        public var maxAttempts: Int = 5
        /// Backoff after the n-th failed attempt: base × 2^(n-1), at most `retryMaxSeconds`.
        public var retryBaseSeconds: Int = 30
        public var retryMaxSeconds: Int = 3600
        /// How often due held events and deliveries are looked for.
        public var pollIntervalMilliseconds: Int = 1000
        /// "alias=claim": a token's claim that gives the recipient's address for a messenger
        /// ("smtp=email"), stored when the user authenticates; the user's own setting wins.
        public var addressClaims: [String] = []
        /// Default fallbacks for events without a "fallback" field.
        public var policies: [Policy] = []
        public init() {}

        /// alias → claim name, from `addressClaims`.
        public var claimByAlias: [String: String] {
            var result: [String: String] = [:]
            for entry in addressClaims {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { result[parts[0]] = parts[1] }
            }
            return result
        }
    }

    /// "Offline recipients of category chat.direct get email after 10 minutes."
    public struct Policy: Sendable, Equatable {
        /// An exact category, "prefix.*", or "*".
        public var category: String = "*"
        /// `offline`: only recipients with no connection when the event is delivered;
        /// `unread`: every recipient who has not read it `afterSeconds` later.
        public var when: String = "offline"
        public var afterSeconds: Int = 600
        public var via: [String] = []
        public init() {}

        public func matches(category candidate: String) -> Bool {
            if category == "*" || category == candidate { return true }
            if category.hasSuffix(".*") { return candidate.hasPrefix(category.dropLast(1)) }
            return false
        }
    }

    /// Longest hold or fallback delay: 30 days.
    public static let offlineDelayRange = 0...(30 * 86_400)

    static var offlineFields: [ConfigField<Offline>] {
        [
            .optionalString("path", \.path),
            .integer("max_attempts", \.maxAttempts, range: 1...100),
            .integer("retry_base_seconds", \.retryBaseSeconds, range: 1...86_400),
            .integer("retry_max_seconds", \.retryMaxSeconds, range: 1...(7 * 86_400)),
            .integer("poll_interval_ms", \.pollIntervalMilliseconds, range: 50...60_000),
            .strings("address_claims", \.addressClaims, check: { entry in
                let parts = entry.split(separator: "=", maxSplits: 1)
                return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty ? nil
                    : "expected \"alias=claim\" such as \"smtp=email\", got '\(entry)'"
            }),
            .tables("policies", \.policies, initial: Policy(), fields: policyFields),
        ]
    }

    static var policyFields: [ConfigField<Policy>] {
        [
            .string("category", \.category),
            .string("when", \.when, check: { value in
                ["offline", "unread"].contains(value) ? nil
                    : ("config.invalid_value", "expected \"offline\" or \"unread\", got '\(value)'")
            }),
            .integer("after_seconds", \.afterSeconds, range: offlineDelayRange),
            .strings("via", \.via, check: { $0.isEmpty ? "a messenger alias must not be empty" : nil }),
        ]
    }
}

extension ConfigField {
    /// An array of tables ([[section.key]]), each read with `fields`.
    static func tables<Element>(_ key: String, _ path: WritableKeyPath<Section, [Element]>, initial: Element,
                                fields: [ConfigField<Element>]) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            guard case .tableArray(let tables) = item.value.value else {
                mapper.wrongType(key, item, in: label, expected: "an array of tables ([[...\(key)]])")
                return
            }
            section[keyPath: path] = tables.map { table in
                mapper.read(table, into: initial, label: "\(label) \(key) (line \(table.position.line))", fields: fields)
            }
        }
    }
}
