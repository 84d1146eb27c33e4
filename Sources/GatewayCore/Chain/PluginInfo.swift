// What a plugin says about itself (its descriptor), in Swift values: shown by `plugin inspect`
// and listed by a running chain.

public struct PluginInfo: Sendable, Equatable {
    /// The plugin's own name from its descriptor ("category-targets").
    public var name: String
    public var version: String
    public var abiMajor: Int
    public var abiMinor: Int
    /// Capability names in bit order: "category_targets", "recipient_filter",
    /// "attachment_validation", "thumbnail", "messenger", "publish_guard", "responder", "query".
    public var capabilities: [String]
    /// Categories a category-targets plugin handles ("*" = all); nil when it does not say.
    public var categories: [String]?
    public var buildSignature: String?
    /// Real path of the shared object.
    public var path: String
    /// The [[plugins]] entry this instance was created for; nil for `plugin inspect`.
    public var entryName: String?
}

/// Capability bits of ABI 1.0 and their names, in bit order.
enum PluginCapability {
    static let categoryTargets: UInt64 = 1 << 0
    static let recipientFilter: UInt64 = 1 << 1
    static let attachmentValidation: UInt64 = 1 << 2
    static let thumbnail: UInt64 = 1 << 3
    static let allV1_0: UInt64 = 0xF
    /// ABI 1.2: deliver one event to one recipient's address (offline delivery).
    static let messenger: UInt64 = 1 << 4
    static let allV1_2: UInt64 = 0x1F
    /// ABI 1.3: accept, refuse or rewrite an event a client publishes.
    static let publishGuard: UInt64 = 1 << 5
    /// ABI 1.3: see routed events and publish events (a bot).
    static let responder: UInt64 = 1 << 6
    /// ABI 1.3: answer GET /api/v1/plugins/<entry>/<path>.
    static let query: UInt64 = 1 << 7
    static let allV1_3: UInt64 = 0xFF

    static let named: [(bit: UInt64, name: String)] = [
        (categoryTargets, "category_targets"),
        (recipientFilter, "recipient_filter"),
        (attachmentValidation, "attachment_validation"),
        (thumbnail, "thumbnail"),
        (messenger, "messenger"),
        (publishGuard, "publish_guard"),
        (responder, "responder"),
        (query, "query"),
    ]

    static func names(_ bits: UInt64) -> [String] {
        named.filter { bits & $0.bit != 0 }.map(\.name)
    }
}
