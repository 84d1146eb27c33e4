import Foundation
import GatewayCore
import Testing

/// Parses text expected to be valid and fails the test with every error otherwise.
func parseValid(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> GatewayConfig {
    switch ConfigLoader.parse(text, baseDirectory: "/etc/gateway", fileName: "gateway.conf") {
    case .success(let config): return config
    case .failure(let errors):
        Issue.record("unexpected config errors:\n\(errors)", sourceLocation: sourceLocation)
        throw errors
    }
}

/// Parses text expected to be invalid and returns its errors.
func parseErrors(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [ConfigError] {
    switch ConfigLoader.parse(text, baseDirectory: ".", fileName: "gateway.conf") {
    case .success:
        Issue.record("the config was accepted but should have been refused", sourceLocation: sourceLocation)
        throw ConfigErrors([])
    case .failure(let errors): return errors.errors
    }
}

@Suite("gateway.conf: valid files")
struct ConfigTests {
    static let fullExample = """
        # Chat Gateway configuration
        plugin_directory = "plugins"

        [server]
        listen = "0.0.0.0:9090"
        default_host = "chat.example.org"
        max_message_bytes = 131_072
        max_event_bytes = 65536
        max_outbound_bytes = 0x800000   # 8 MiB
        event_loops = 2

        [auth]
        hs256_secret_file = "secrets/hs256"
        hs256_secret_env = "GATEWAY_SECRET"
        rs256_public_key_file = "/etc/keys/rs256.pem"
        es256_public_key_file = 'keys\\es256.pem'
        principals_claim = "groups"
        title_claim = "display_name"
        publish_claim = "permissions"
        publish_scope = "chat:publish"
        leeway_seconds = 5

        [history]
        enabled = false
        path = "/var/lib/gateway/history.sqlite"
        per_recipient = 200

        [attachments]
        directory = "/var/lib/gateway/files"
        max_bytes = 5_000_000
        thumbnail_width = 120
        thumbnail_height = 80

        [redis]
        enabled = true
        # host, port, password and database in one url
        url = "redis://:s%40cret@redis.internal:6380/2"
        channel = "chat:main"

        [[plugins]]
        name = "targets"
        library = "libCategoryTargets.so"

        [plugins.config]
        zeta = 1
        alpha = "two"
        nested = { b = 2, a = [1, 2.5, "x", true] }
        [plugins.config.deeper]
        when = 1979-05-27T07:32:00Z

        [[plugins]]
        name = "audit"
        library = "/opt/gateway/libConsoleAudit.so"
        enabled = false
        """

    @Test func fullExampleParsesEveryField() throws {
        let config = try parseValid(Self.fullExample)
        #expect(config.pluginDirectory == "plugins")
        #expect(config.baseDirectory == "/etc/gateway")
        #expect(config.server.listen == "0.0.0.0:9090")
        #expect(config.server.defaultHost == "chat.example.org")
        #expect(config.server.maxMessageBytes == 131_072)
        #expect(config.server.maxEventBytes == 65_536)
        #expect(config.server.maxOutboundBytes == 8 * 1024 * 1024)
        #expect(config.server.eventLoops == 2)
        #expect(config.auth.hs256Secret == nil)
        #expect(config.auth.hs256SecretFile == "secrets/hs256")
        #expect(config.auth.hs256SecretEnv == "GATEWAY_SECRET")
        #expect(config.auth.rs256PublicKeyFile == "/etc/keys/rs256.pem")
        #expect(config.auth.es256PublicKeyFile == "keys\\es256.pem")
        #expect(config.auth.principalsClaim == "groups")
        #expect(config.auth.titleClaim == "display_name")
        #expect(config.auth.publishClaim == "permissions")
        #expect(config.auth.publishScope == "chat:publish")
        #expect(config.auth.leewaySeconds == 5)
        #expect(config.history.path == "/var/lib/gateway/history.sqlite")
        #expect(config.history.perRecipient == 200)
        #expect(config.history.enabled == false)
        #expect(config.attachments.directory == "/var/lib/gateway/files")
        #expect(config.attachments.maxBytes == 5_000_000)
        #expect(config.attachments.thumbnailWidth == 120)
        #expect(config.attachments.thumbnailHeight == 80)
        #expect(config.redis.enabled)
        #expect(config.redis.url == RedisEndpoint(host: "redis.internal", port: 6380, password: "s@cret", database: 2))
        #expect(config.redis.channel == "chat:main")
        #expect(config.plugins.map(\.name) == ["targets", "audit"])
        #expect(config.plugins.map(\.enabled) == [true, false])
        #expect(config.plugins.map(\.line) == [40, 51])
        #expect(config.plugins[1].library == "/opt/gateway/libConsoleAudit.so")
        #expect(config.plugins[1].config.isEmpty)
    }

    @Test func pluginConfigKeepsFileOrderAndNesting() throws {
        let config = try parseValid(Self.fullExample)
        let expected: [(key: String, value: ConfigValue)] = [
            ("zeta", .integer(1)),
            ("alpha", .string("two")),
            ("nested", .table([("b", .integer(2)), ("a", .array([.integer(1), .float(2.5), .string("x"), .bool(true)]))])),
            ("deeper", .table([("when", .string("1979-05-27T07:32:00Z"))])),
        ]
        #expect(ConfigValue.table(config.plugins[0].config) == ConfigValue.table(expected))
        // Order matters: the same pairs sorted differently must not compare equal.
        #expect(ConfigValue.table(config.plugins[0].config) != ConfigValue.table(expected.reversed()))
    }

    @Test func emptyFileGivesTheEmbeddedDefaults() throws {
        let config = try parseValid("")
        var expected = GatewayConfig()
        expected.baseDirectory = "/etc/gateway"
        #expect(config == expected)
        #expect(config.server.listen == "127.0.0.1:8080")
        #expect(config.plugins.isEmpty)
        let commentsOnly = try parseValid("# nothing here\n\n   # still nothing\r\n")
        #expect(commentsOnly == expected)
    }

    @Test func pluginChainOrderIsFileOrder() throws {
        let names = ["e", "b", "d", "a", "c"]
        let text = names.map { "[[plugins]]\nname = \"\($0)\"\nlibrary = \"lib\($0).so\"\n[plugins.config]\nid = \"\($0)\"\n" }
            .joined(separator: "\n")
        let config = try parseValid(text)
        #expect(config.plugins.map(\.name) == names)
        #expect(config.plugins.map(\.library) == names.map { "lib\($0).so" })
        // Each [plugins.config] belongs to the [[plugins]] block just above it.
        #expect(config.plugins.map { ConfigValue.table($0.config) } == names.map { .table([("id", .string($0))]) })
    }

    @Test func pluginsAsAnArrayOfInlineTables() throws {
        let config = try parseValid("""
            plugins = [
              { name = "one", library = "a.so", config = { limit = 3 } },  # comment inside
              { name = "two", library = "b.so", enabled = false },
            ]
            """)
        #expect(config.plugins.map(\.name) == ["one", "two"])
        #expect(ConfigValue.table(config.plugins[0].config) == .table([("limit", .integer(3))]))
        #expect(config.plugins[1].enabled == false)
    }

    @Test func listenAcceptsIPv6InBracketsAndPortZero() throws {
        #expect(try parseValid("[server]\nlisten = \"[::1]:8080\"").server.listen == "[::1]:8080")
        #expect(try parseValid("[server]\nlisten = \"localhost:0\"").server.listen == "localhost:0")
    }

    @Test func loadReadsARealFileAndSetsItsFolder() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/gateway.conf"
        try "[server]\nlisten = \"127.0.0.1:7000\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path).get()
        #expect(config.server.listen == "127.0.0.1:7000")
        #expect(config.baseDirectory == folder.path)
        #expect(config.resolvePath("data/x.sqlite") == folder.path + "/data/x.sqlite")
        #expect(config.resolvePath("/abs/x") == "/abs/x")
    }

    @Test func loadReportsAMissingFile() throws {
        let result = ConfigLoader.load(path: "/nonexistent/dir/gateway.conf")
        guard case .failure(let errors) = result else {
            Issue.record("a missing file was accepted")
            return
        }
        #expect(errors.codes == ["config.file_unreadable"])
        #expect(errors.description.contains("No such file or directory"))
    }

    @Test func loadRefusesInvalidUTF8() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/bad.conf"
        try Data([0x61, 0x20, 0x3D, 0x20, 0x22, 0xFF, 0x22, 0x0A]).write(to: URL(fileURLWithPath: path))
        guard case .failure(let errors) = ConfigLoader.load(path: path) else {
            Issue.record("invalid UTF-8 was accepted")
            return
        }
        #expect(errors.codes == ["config.syntax"])
        #expect(errors.description.hasPrefix("bad.conf: config.syntax"))
    }
}

/// A folder under /tmp removed when the value goes away.
final class TemporaryFolder {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "/gateway-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
