// The keys of each gateway.conf section, their types and their allowed ranges.
// Key names are TOML snake_case; the Swift fields are camelCase.

extension GatewayConfig {
    /// Sizes are in bytes; an upper bound of 1 GiB keeps a typo (an extra zero or three) from
    /// turning into an allocation the machine cannot make.
    static let byteSizeRange = 1...(1 << 30)

    static var serverFields: [ConfigField<Server>] {
        [
            .string("listen", \.listen, check: checkListenAddress),
            .string("default_host", \.defaultHost),
            .integer("max_message_bytes", \.maxMessageBytes, range: byteSizeRange),
            .integer("max_event_bytes", \.maxEventBytes, range: byteSizeRange),
            .integer("max_outbound_bytes", \.maxOutboundBytes, range: byteSizeRange),
            .integer("event_loops", \.eventLoops, range: 0...256),
            .integer("client_frames_per_second", \.clientFramesPerSecond, range: 1...1_000_000),
            .integer("client_frame_burst", \.clientFrameBurst, range: 1...1_000_000),
            .strings("auth_failure_logout_paths", \.authFailureLogoutPaths, check: { path in
                path.hasPrefix("/") ? nil : "a path starts with '/', got '\(path)'"
            }),
            .parsed("unknown_event_fields", \.unknownEventFields, parse: { text in
                UnknownEventFields(rawValue: text).map { .success($0) }
                    ?? .failure(InvalidConfigValue(message: "expected \"keep\" or \"refuse\", got '\(text)'"))
            }),
            .integer("handshake_timeout_seconds", \.handshakeTimeoutSeconds, range: 1...3_600),
            .integer("request_head_timeout_seconds", \.requestHeadTimeoutSeconds, range: 1...3_600),
            .integer("min_bytes_per_second", \.minBytesPerSecond, range: 1...(1 << 30)),
            .integer("keepalive_timeout_seconds", \.keepAliveTimeoutSeconds, range: 1...86_400),
            .integer("close_timeout_seconds", \.closeTimeoutSeconds, range: 1...600),
            .integer("max_connections", \.maxConnections, range: 0...10_000_000),
            .integer("max_connections_per_ip", \.maxConnectionsPerIP, range: 0...10_000_000),
            .integer("drain_seconds", \.drainSeconds, range: 0...3600),
            .integer("ping_interval_seconds", \.pingIntervalSeconds, range: 0...86_400),
            .integer("pong_timeout_seconds", \.pongTimeoutSeconds, range: 1...86_400),
            .optionalString("tls_certificate_file", \.tlsCertificateFile),
            .optionalString("tls_private_key_file", \.tlsPrivateKeyFile),
            .parsed("metrics_access", \.metricsAccess, parse: { text in
                MetricsAccess(rawValue: text).map { .success($0) }
                    ?? .failure(InvalidConfigValue(message: "expected \"public\" or \"admin\", got '\(text)'"))
            }),
        ]
    }

    static var authFields: [ConfigField<Auth>] {
        [
            .optionalString("hs256_secret", \.hs256Secret),
            .optionalString("hs256_secret_file", \.hs256SecretFile),
            .optionalString("hs256_secret_env", \.hs256SecretEnv),
            .optionalString("rs256_public_key_file", \.rs256PublicKeyFile),
            .optionalString("es256_public_key_file", \.es256PublicKeyFile),
            .string("principals_claim", \.principalsClaim),
            .string("title_claim", \.titleClaim),
            .string("publish_claim", \.publishClaim),
            .string("publish_scope", \.publishScope),
            .string("admin_claim", \.adminClaim),
            .string("admin_scope", \.adminScope),
            .integer("leeway_seconds", \.leewaySeconds, range: 0...86_400),
            .strings("public_key_files", \.publicKeyFiles),
            .optionalString("jwks_file", \.jwksFile),
            .bool("require_exp", \.requireExp),
            .strings("require_claims", \.requireClaims, check: checkClaimRule),
            .strings("reject_claims", \.rejectClaims, check: checkClaimRule),
            .parsed("context_url", \.contextURL, parse: parseContextURL),
            .integer("context_timeout_seconds", \.contextTimeoutSeconds, range: 1...60),
            .optionalString("hosts_claim", \.hostsClaim),
            .strings("room_watcher_principals", \.roomWatcherPrincipals),
        ]
    }

    static var historyFields: [ConfigField<History>] {
        [
            .bool("enabled", \.enabled),
            .string("path", \.path),
            .integer("per_recipient", \.perRecipient, range: 1...100_000),
            .integer("per_room", \.perRoom, range: 1...10_000_000),
        ]
    }

    static var attachmentsFields: [ConfigField<Attachments>] {
        [
            .string("directory", \.directory),
            .integer("max_bytes", \.maxBytes, range: byteSizeRange),
            .integer("thumbnail_width", \.thumbnailWidth, range: 1...4096),
            .integer("thumbnail_height", \.thumbnailHeight, range: 1...4096),
        ]
    }

    static var redisFields: [ConfigField<Redis>] {
        [
            .bool("enabled", \.enabled),
            .parsed("url", \.url, parse: { RedisEndpoint.parse($0).mapError { InvalidConfigValue(message: $0.message) } }),
            .optionalString("notifications_key", \.notificationsKey),
            .integer("notifications_length", \.notificationsLength, range: 1...100_000),
            .replaced("host", by: "url", example: #"url = "redis://127.0.0.1:6379/0""#),
            .replaced("port", by: "url", example: #"url = "redis://127.0.0.1:6379/0""#),
            .string("channel", \.channel),
        ]
    }

    static var engineFields: [ConfigField<Engine>] {
        [
            .string("kind", \.kind, check: checkEngineKind),
            .integer("presence_ttl_seconds", \.presenceTTLSeconds, range: 3...3600),
        ]
    }

    /// An http:// or https:// URL with a host.
    static func parseContextURL(_ text: String) -> Result<String?, InvalidConfigValue> {
        let lower = text.lowercased()
        guard let scheme = ["http://", "https://"].first(where: lower.hasPrefix) else {
            return .failure(InvalidConfigValue(message: "expected an http:// or https:// URL (e.g. \"https://www.example.com/api/chat/context\"), got '\(text)'"))
        }
        let rest = text.dropFirst(scheme.count)
        guard let first = rest.first, first != "/", first != ":", !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            return .failure(InvalidConfigValue(message: "the URL needs a host and no spaces, got '\(text)'"))
        }
        return .success(text)
    }

    /// "name" or "name=value".
    static func checkClaimRule(_ text: String) -> String? {
        let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return name.isEmpty ? "expected \"claim\" or \"claim=value\" (e.g. \"obj=refresh\"), got '\(text)'" : nil
    }

    static let sectionNames = ["server", "auth", "engine", "history", "attachments", "redis", "hosts", "offline", "plugins"]

    /// The engines this build has. Adding one: a kind here and its construction in the server.
    public static let engineKinds = ["memory", "redis"]

    static func checkEngineKind(_ kind: String) -> (code: String, message: String)? {
        guard !engineKinds.contains(kind) else { return nil }
        var message = "unknown engine '\(kind)'; known engines: \(engineKinds.map { "\"\($0)\"" }.joined(separator: ", "))"
        if let suggestion = closestMatch(to: kind, among: engineKinds) { message += " (did you mean '\(suggestion)'?)" }
        return ("config.unknown_engine", message)
    }
    static let topLevelKeys = ["plugin_directory"]
    static let pluginKeys = ["name", "library", "enabled", "config"]

    /// "HOST:PORT", "[IPv6]:PORT"; port 0 asks the kernel for a free port (used by tests).
    static func checkListenAddress(_ text: String) -> (code: String, message: String)? {
        let shape = (code: "config.invalid_value", message: "expected HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got '\(text)'")
        guard let colon = text.lastIndex(of: ":") else { return shape }
        let host = text[..<colon]
        let port = text[text.index(after: colon)...]
        guard !host.isEmpty, !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else { return shape }
        if host.hasPrefix("[") != host.hasSuffix("]") { return shape }
        // A bare IPv6 address without brackets is ambiguous ("::1:80"): ask for brackets.
        if !host.hasPrefix("["), host.contains(":") { return shape }
        guard port.count <= 5, let number = Int(port), number <= 65_535 else {
            return ("config.out_of_range", "port must be between 0 and 65535, got \(port)")
        }
        return nil
    }
}
