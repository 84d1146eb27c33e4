// The parsed gateway.conf: plain Sendable values, parsed once at start and on each reload.
// Every field has an embedded default so an empty file runs a development gateway on loopback.

/// A TOML value kept only to hand a plugin's `config` table to its `create` hook as JSON.
public indirect enum ConfigValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([ConfigValue])
    case table([(key: String, value: ConfigValue)])

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.float(a), .float(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.table(a), .table(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

public struct GatewayConfig: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        /// "HOST:PORT" to listen on. Loopback by default: exposing the gateway is a decision.
        public var listen: String = "127.0.0.1:8080"
        /// The host of a connection that sends no Origin header (and of events without `host`).
        public var defaultHost: String = "localhost"
        /// Largest reassembled WebSocket message a client may send (bytes); bigger → close 1009.
        public var maxMessageBytes: Int = 64 * 1024
        /// Largest HTTP request body for POST /api/v1/events (bytes); bigger → 413.
        public var maxEventBytes: Int = 64 * 1024
        /// Bytes queued to one client before it counts as not reading and is disconnected (1008).
        public var maxOutboundBytes: Int = 4 * 1024 * 1024
        /// Event-loop threads; 0 means one per core.
        public var eventLoops: Int = 0
        /// Frames a WebSocket client may send per second (publish, typing, read), with bursts up
        /// to `clientFrameBurst`; the rest are refused with `client.rate_limited`.
        public var clientFramesPerSecond: Int = 100
        public var clientFrameBurst: Int = 200
        /// Event fields the gateway does not know: delivered as sent (`keep`) or refused.
        public var unknownEventFields: UnknownEventFields = .keep

        // Timeouts: a client that holds a connection without using it must not hold it for good.
        /// From accept to the first complete request head (the WebSocket opening handshake is one).
        public var handshakeTimeoutSeconds: Int = 30
        /// From the first byte of a later request on a keep-alive connection to its complete head.
        public var requestHeadTimeoutSeconds: Int = 30
        /// A request body (and a response being sent) must move at least this many bytes per second,
        /// measured over windows of `requestHeadTimeoutSeconds`; slower → 408 / closed.
        public var minBytesPerSecond: Int = 1024
        /// An idle keep-alive connection (no request under way) is closed after this.
        public var keepAliveTimeoutSeconds: Int = 30
        /// After the gateway sends a WebSocket close frame, how long it waits for the client's.
        public var closeTimeoutSeconds: Int = 5

        // Connection limits.
        /// Open connections (HTTP and WebSocket) at once; 0 = derived from the open-file limit.
        public var maxConnections: Int = 0
        /// Open connections from one IP address at once; 0 = no per-address limit.
        public var maxConnectionsPerIP: Int = 0
        /// SIGTERM: how long the drain may take (in-flight HTTP answered, WebSockets closed with
        /// 1001, history flushed) before the remaining connections are cut.
        public var drainSeconds: Int = 10
        /// The server pings each WebSocket client this often (0: never) …
        public var pingIntervalSeconds: Int = 30
        /// … and closes a client that has not answered a ping within this time (1001 is not
        /// sent: a half-open socket cannot read it; the TCP connection is closed).
        public var pongTimeoutSeconds: Int = 10
        /// WebSocket paths whose authentication failures are answered the pyams_chat_ws way
        /// (upgrade, {"action":"logout","status":"FORBIDDEN"}, close 1008); other paths get 401.
        public var authFailureLogoutPaths: [String] = ["/ws/chat"]
        /// PEM certificate (chain, leaf first) and its unencrypted PEM private key: with both set,
        /// the port speaks HTTPS and wss only. Re-read on SIGHUP. Off by default.
        public var tlsCertificateFile: String? = nil
        public var tlsPrivateKeyFile: String? = nil
        /// Who may read GET /metrics: anyone who reaches the port (Prometheus's default), or only
        /// admin tokens (a scraper sends `Authorization: Bearer <admin JWT>`).
        public var metricsAccess: MetricsAccess = .public
        public init() {}
    }

    public enum MetricsAccess: String, Sendable, Equatable, CaseIterable {
        case `public`, admin
    }

    public struct Auth: Sendable, Equatable {
        /// HS256 shared secret. The embedded default is a development secret, logged as a warning.
        public var hs256Secret: String? = nil
        /// Read the HS256 secret from this file (trailing newline stripped) …
        public var hs256SecretFile: String? = nil
        /// … or from this environment variable.
        public var hs256SecretEnv: String? = nil
        /// PEM public keys for RS256 / ES256 verification.
        public var rs256PublicKeyFile: String? = nil
        public var es256PublicKeyFile: String? = nil
        /// Claim holding the connection's principals (array of strings, or a space-separated string).
        public var principalsClaim: String = "principals"
        /// Claim holding a human-readable title for GET /api/v1/context.
        public var titleClaim: String = "name"
        /// Claim (array or space-separated string) that must contain `publishScope` to publish over HTTP.
        public var publishClaim: String = "scope"
        public var publishScope: String = "publish"
        /// Claim (array or space-separated string) that must contain `adminScope` to use the admin
        /// console and /api/v1/admin.
        public var adminClaim: String = "scope"
        public var adminScope: String = "admin"
        /// Allowed clock skew for exp/nbf, seconds.
        public var leewaySeconds: Int = 30
        /// More PEM public keys (RSA, EC P-256/384/521, Ed25519); the key's type decides its algorithms.
        public var publicKeyFiles: [String] = []
        /// A JWKS file (RFC 7517): keys chosen by the token's `kid`; re-read on SIGHUP.
        public var jwksFile: String? = nil
        /// Refuse tokens without `exp` (auth.missing_exp).
        public var requireExp: Bool = true
        /// "claim" or "claim=value" rules every token must match / must not match
        /// (e.g. reject_claims = ["obj=refresh"] refuses pyams refresh tokens).
        public var requireClaims: [String] = []
        public var rejectClaims: [String] = []
        /// The site's context service (pyams_chat's `/api/chat/context`): asked with each new
        /// token for the user's principals (`principal.principals`), added to the token's. nil: off.
        public var contextURL: String? = nil
        /// Longest wait for the context service's answer (auth.context_timeout).
        public var contextTimeoutSeconds: Int = 5
        /// Claim listing the hosts a token may use (array, or space-separated string), e.g. "hosts";
        /// nil: tokens carry no hosts and `[hosts]` alone decides. A token with the claim may
        /// use only the hosts it lists (and `[hosts]`, when declared, must grant them too).
        public var hostsClaim: String? = nil
        /// Principals whose tokens may watch rooms they are not members of (chat_api's
        /// ws-subscribe: a supervisor), besides admin tokens. Empty: admins only.
        public var roomWatcherPrincipals: [String] = []
        public init() {}

        /// The secret used when nothing is configured. Never use it outside development.
        public static let developmentSecret = "chat-gateway-development-secret-change-me"
    }

    public struct Engine: Sendable, Equatable {
        /// What records and delivers events: "memory" (this node only, SQLite history).
        public var kind: String = "memory"
        /// Redis engine: a node that has not refreshed its presence for this long is taken for
        /// dead, and its connections' principals leave their rooms.
        public var presenceTTLSeconds: Int = 15
        public init() {}
    }

    public struct History: Sendable, Equatable {
        /// SQLite database file (WAL). Relative paths are relative to the config file's folder.
        public var path: String = "gateway-data/history.sqlite"
        /// Events kept per recipient.
        public var perRecipient: Int = 50
        /// Events kept per room (the room's history, for `GET …/rooms/<id>/events`); older ones
        /// are removed as new ones arrive, so a busy room's history stays bounded.
        public var perRoom: Int = 10_000
        /// false: no event is recorded (no replay on reconnect, empty notifications); the
        /// database still holds attachment metadata.
        public var enabled: Bool = true
        public init() {}
    }

    public struct Attachments: Sendable, Equatable {
        public var directory: String = "gateway-data/attachments"
        public var maxBytes: Int = 10 * 1024 * 1024
        public var thumbnailWidth: Int = 100
        public var thumbnailHeight: Int = 100
        public init() {}
    }

    public struct Redis: Sendable, Equatable {
        public var enabled: Bool = false
        /// `url = "redis://[:password@]host:port/db"`; the connection AUTHs and SELECTs from it.
        public var url = RedisEndpoint()
        /// pyams_chat's notifications list: events are pushed to `<key>::<host>` (nil: off).
        public var notificationsKey: String? = nil
        /// Entries kept in each list (pyams_chat_ws: 50).
        public var notificationsLength: Int = 50
        /// pyams_chat publishes its events on this channel.
        public var channel: String = "chat:main"
        public init() {}
    }

    public struct Plugin: Sendable, Equatable {
        /// Unique name of this entry (an instance); used in logs and metrics.
        public var name: String
        /// Path of the shared object. A bare file name is looked up in `pluginDirectory`.
        public var library: String
        public var enabled: Bool = true
        /// The entry's `config` table, handed to the plugin's create() as a JSON object.
        public var config: [(key: String, value: ConfigValue)] = []
        /// Where in the file this entry starts (for error messages).
        public var line: Int = 0

        public init(name: String, library: String, enabled: Bool = true,
                    config: [(key: String, value: ConfigValue)] = [], line: Int = 0) {
            self.name = name
            self.library = library
            self.enabled = enabled
            self.config = config
            self.line = line
        }

        public static func == (lhs: Plugin, rhs: Plugin) -> Bool {
            lhs.name == rhs.name && lhs.library == rhs.library && lhs.enabled == rhs.enabled
                && ConfigValue.table(lhs.config) == ConfigValue.table(rhs.config)
        }
    }

    public var server = Server()
    public var auth = Auth()
    public var engine = Engine()
    public var history = History()
    public var attachments = Attachments()
    public var redis = Redis()
    public var offline = Offline()
    /// Folder searched for plugin libraries given by bare file name. nil: the folder of the
    /// running `gateway` executable (where `swift build` puts the bundled plugins).
    public var pluginDirectory: String? = nil
    /// The handler chain, in file order.
    public var plugins: [Plugin] = []
    /// `[hosts]`: host → principals whose tokens may use it ("*": any token). Empty: one host,
    /// `server.default_host`, for everyone.
    public var hosts: [String: [String]] = [:]
    /// Folder of the config file; relative paths in the config resolve against it.
    public var baseDirectory: String = "."
    /// The file this config was read from (nil when parsed from text): the admin console writes
    /// plugin toggles back to it when asked to.
    public var sourcePath: String? = nil

    public init() {}
}
