// The protocols a Swift plugin conforms to. A plugin is one type conforming to `GatewayPlugin`
// plus any capability protocols; `export(_:)` turns it into the C descriptor of
// gateway_plugin.h. Nothing Swift crosses the boundary: only C pointers and json_t.
@_exported import GatewayJSON

/// One plugin type per shared object. An instance is created per [[plugins]] entry.
///
/// Hooks may run concurrently on several threads for the same instance (see the header's
/// threading rules): an instance must be `Sendable` (immutable after `init`, or guarding its
/// own state with a lock), and the compiler checks it.
public protocol GatewayPlugin: Sendable {
    /// Stable name, e.g. "category-targets". Copied once into a static C string.
    static var name: String { get }
    /// Version of the plugin, e.g. "1.0.0".
    static var version: String { get }
    /// Builds an instance from the entry's `config` table (a JSON object, `{}` when absent).
    /// Throwing rejects the configuration: the host shows the error with the plugin's name.
    init(config: JSONView, host: PluginHost) throws(PluginConfigError)
}

/// GW_CAP_CATEGORY_TARGETS: decides which principals receive an event of a category.
public protocol CategoryTargetsPlugin: GatewayPlugin {
    /// Categories this plugin handles; ["*"] for every category (decide per event with nil).
    static var categories: [String] { get }
    /// The event's targets, or nil for "not my category" (GW_SKIP). Event loops: must not block.
    func targets(for event: JSONView) throws -> Targets?
}

/// GW_CAP_RECIPIENT_FILTER: deliver, drop or redact an event for one recipient.
public protocol RecipientFilterPlugin: GatewayPlugin {
    /// Event loops, concurrently: must not block. A thrown error fails closed (not delivered).
    func filter(_ event: JSONView, recipient: Recipient) throws -> FilterDecision

    /// Asked once per event (ABI 1.1 on_filter_event): false means `filter` would deliver this
    /// event unchanged to everyone, so the gateway skips the per-recipient calls. The default,
    /// true, asks `filter` for every recipient.
    func concerns(_ event: JSONView) -> Bool
}

extension RecipientFilterPlugin {
    public func concerns(_ event: JSONView) -> Bool { true }
}

/// GW_CAP_ATTACHMENT_VALIDATION: accept or reject an attachment (metadata + bytes).
public protocol AttachmentValidationPlugin: GatewayPlugin {
    /// Blocking-work pool: may be slow, but must bound its work on hostile input.
    func validate(_ attachment: Attachment) throws -> AttachmentVerdict
}

/// GW_CAP_THUMBNAIL: make a thumbnail that fits a bounding box.
public protocol ThumbnailPlugin: GatewayPlugin {
    /// Blocking-work pool: may be slow, but must bound its work on hostile input.
    func thumbnail(_ request: ThumbnailRequest) throws -> ThumbnailOutcome
}

/// GW_CAP_MESSENGER (ABI 1.2): deliver one event to one recipient's address outside the
/// WebSocket (email, chat, webhook). The entry's name in gateway.conf is the messenger's alias.
public protocol MessengerPlugin: GatewayPlugin {
    /// Blocking-work pool, never an event loop; may block on the network but must bound its
    /// time. Return `.sent`, `.retryLater` (the host retries with backoff) or `.refused`
    /// (never retried). A thrown error is retried like `.retryLater`.
    func send(_ delivery: Delivery) throws -> SendResult

    /// `gateway messenger test ALIAS ADDRESS`. The default sends a synthetic event via `send`.
    func sendTest(to address: String) throws -> SendResult
}

extension MessengerPlugin {
    public func sendTest(to address: String) throws -> SendResult { .notImplemented }
}

/// GW_CAP_PUBLISH_GUARD (ABI 1.3): accept, refuse or rewrite an event a client publishes,
/// before it is routed (moderation, spam limits, scripted flows). See the header's "How results
/// combine": `.accept` also vouches for a `scripted` member's answer; a guard that only refuses
/// answers `.skip` for what it lets through.
public protocol PublishGuardPlugin: GatewayPlugin {
    /// false (default): `check` runs on event loops and must not block. true
    /// (GW_GUARD_MAY_BLOCK): every client publish runs on the blocking pool while this plugin is
    /// in the chain, and `check` may read a database (bounded).
    static var guardMayBlock: Bool { get }
    /// A thrown error fails closed: the client gets 500 `event.guard_failed`.
    func check(_ publish: PublishRequest) throws -> GuardVerdict
}

extension PublishGuardPlugin {
    public static var guardMayBlock: Bool { false }
}

/// GW_CAP_RESPONDER (ABI 1.3): sees every routed event (except those plugins published) on the
/// blocking pool, and may publish events itself with `host.publish(_:)` (a bot).
public protocol ResponderPlugin: GatewayPlugin {
    /// Blocking pool, never an event loop, concurrently; after the event was delivered.
    func routed(_ event: JSONView) throws
}

/// GW_CAP_QUERY (ABI 1.3): read-only endpoints GET /api/v1/plugins/<entry name>/<path>.
public protocol QueryPlugin: GatewayPlugin {
    /// Blocking pool, concurrently; may read a database. `path` is what follows
    /// "<entry name>/"; the caller holds a valid token — decide here what it may see.
    func query(path: String, caller: QueryCaller, parameters: [String: String]) throws -> QueryResult
}
