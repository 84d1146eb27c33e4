import GatewayCore
import Testing

@Suite("gateway.conf: errors carry a code, a line and a column")
struct ConfigErrorTests {
    /// (code, line, column) of each error, for compact assertions.
    func places(_ errors: [ConfigError]) -> [String] { errors.map { "\($0.code)@\($0.line):\($0.column)" } }

    @Test func unknownKeySuggestsTheClosestKnownKey() throws {
        let errors = try parseErrors("[server]\n  listne = \"127.0.0.1:1\"\n")
        #expect(places(errors) == ["config.unknown_key@2:3"])
        #expect(errors[0].description
            == "gateway.conf:2:3: config.unknown_key: unknown key 'listne' in [server] (did you mean 'listen'?)")
    }

    @Test func suggestionsAlsoMatchTheStartOfSnakeCaseNames() throws {
        let errors = try parseErrors("[auth]\nlewway = 3\n[server]\nmax_mesage = 1\n")
        #expect(errors.map(\.message) == ["unknown key 'lewway' in [auth] (did you mean 'leeway_seconds'?)",
                                          "unknown key 'max_mesage' in [server] (did you mean 'max_message_bytes'?)"])
    }

    @Test func unknownKeyWithoutAnyCloseMatchHasNoSuggestion() throws {
        let errors = try parseErrors("[redis]\ncompletely_unrelated = 1")
        #expect(places(errors) == ["config.unknown_key@2:1"])
        #expect(!errors[0].message.contains("did you mean"))
    }

    @Test func unknownSectionAndUnknownTopLevelKey() throws {
        let errors = try parseErrors("colour = 1\n\n[servre]\nlisten = \"x:1\"\n\n[[plugin]]\nname = \"a\"\n")
        #expect(places(errors) == ["config.unknown_key@1:1", "config.unknown_section@3:2", "config.unknown_section@6:3"])
        #expect(errors[1].message == "unknown section [servre] (did you mean [server]?)")
        #expect(errors[2].message == "unknown section [plugin] (did you mean [plugins]?)")
    }

    @Test func wrongTypesPointAtTheValue() throws {
        let errors = try parseErrors("""
            [server]
            max_message_bytes = "64k"
            [redis]
            enabled = "yes"
            url = 63.79
            [auth]
            principals_claim = ["a"]
            """)
        #expect(places(errors) == ["config.wrong_type@2:21", "config.wrong_type@4:11", "config.wrong_type@5:7",
                                   "config.wrong_type@7:20"])
        #expect(errors[0].message == "'max_message_bytes' in [server] must be an integer, got a string")
        #expect(errors[2].message == "'url' in [redis] must be a string, got a float")
    }

    @Test func sectionThatIsNotATable() throws {
        let errors = try parseErrors("server = \"0.0.0.0:1\"")
        #expect(places(errors) == ["config.wrong_type@1:10"])
    }

    @Test func outOfRangeValues() throws {
        let errors = try parseErrors("""
            [server]
            max_event_bytes = -1
            event_loops = 100000
            [history]
            per_recipient = 0
            [attachments]
            thumbnail_width = 0
            """)
        #expect(places(errors) == ["config.out_of_range@2:19", "config.out_of_range@3:15", "config.out_of_range@5:17",
                                   "config.out_of_range@7:19"])
        #expect(errors[2].message == "'per_recipient' in [history] must be between 1 and 100000, got 0")
    }

    @Test(arguments: ["127.0.0.1", ":8080", "localhost:", "::1:8080", "[::1:8080", "host:80x"])
    func listenMustBeHostColonPort(_ listen: String) throws {
        let errors = try parseErrors("[server]\nlisten = \"\(listen)\"")
        #expect(places(errors) == ["config.invalid_value@2:10"])
        #expect(errors[0].message.contains("expected HOST:PORT"))
    }

    @Test func listenPortAbove65535() throws {
        let errors = try parseErrors("[server]\nlisten = \"127.0.0.1:65536\"")
        #expect(places(errors) == ["config.out_of_range@2:10"])
    }

    @Test func emptyStringsAreRefused() throws {
        let errors = try parseErrors("[auth]\nhs256_secret = \"\"\n")
        #expect(places(errors) == ["config.invalid_value@2:16"])
    }

    @Test func pluginWithoutNameOrLibrary() throws {
        let errors = try parseErrors("""
            [[plugins]]
            library = "a.so"

            [[plugins]]
            name = "b"

              [[plugins]]
            enabled = "no"
            """)
        #expect(places(errors) == ["config.missing_key@1:1", "config.missing_key@4:1", "config.missing_key@7:3",
                                   "config.missing_key@7:3", "config.wrong_type@8:11"])
        #expect(errors[0].message == "[[plugins]] (line 1) needs a 'name'")
        #expect(errors[1].message.contains("needs a 'library'"))
    }

    @Test func duplicatePluginNames() throws {
        let errors = try parseErrors("""
            [[plugins]]
            name = "audit"
            library = "a.so"
            [[plugins]]
            name = "audit"
            library = "b.so"
            """)
        #expect(places(errors) == ["config.duplicate_plugin@5:8"])
        #expect(errors[0].message.contains("already used by the [[plugins]] entry at line 1"))
    }

    @Test func unknownKeyInAPluginBlockAndBadConfigType() throws {
        let errors = try parseErrors("[[plugins]]\nname = \"a\"\nlibary = \"a.so\"\nconfig = 3\n")
        #expect(places(errors) == ["config.missing_key@1:1", "config.unknown_key@3:1", "config.wrong_type@4:10"])
        #expect(errors[1].message.contains("did you mean 'library'?"))
    }

    @Test func duplicateKeysAndTables() throws {
        let errors = try parseErrors("""
            [server]
            listen = "a:1"
            listen = "b:2"
            [server]
            [redis]
            channel.x = 1
            """)
        #expect(places(errors) == ["config.duplicate_key@3:1", "config.duplicate_key@4:2", "config.wrong_type@6:1"])
    }

    @Test func syntaxErrorsAreAllReportedWithTheirPlace() throws {
        let errors = try parseErrors("""
            [server
            listen = 127.0.0.1:80
            default_host = "unterminated
            max_event_bytes = 012
            ok = 1 2
            """)
        #expect(places(errors) == ["config.syntax@1:8", "config.syntax@2:10", "config.syntax@3:16",
                                   "config.syntax@4:19", "config.syntax@5:8"])
        #expect(errors[0].message.contains("expected ']'"))
        #expect(errors[3].message.contains("leading zeros"))
    }

    @Test func everyErrorIsCollectedInFileOrder() throws {
        let result = ConfigLoader.parse("""
            [history]
            per_recipient = 0
            [server]
            listne = "x"
            max_message_bytes = -5
            [[plugins]]
            name = "n"
            library = "l"
            [[plugins]]
            name = "n"
            library = "l"
            """, baseDirectory: ".", fileName: "my.conf")
        guard case .failure(let errors) = result else {
            Issue.record("accepted")
            return
        }
        #expect(errors.codes == ["config.out_of_range", "config.unknown_key", "config.out_of_range", "config.duplicate_plugin"])
        #expect(errors.description.split(separator: "\n").map { $0.split(separator: ":").prefix(3).joined(separator: ":") }
            == ["my.conf:2:17", "my.conf:4:1", "my.conf:5:21", "my.conf:10:8"])
    }

    // MARK: [redis] url

    @Test func oldRedisHostAndPortNameTheirReplacement() throws {
        let errors = try parseErrors("[redis]\nhost = \"redis.internal\"\nport = 6380\n")
        #expect(places(errors) == ["config.replaced_key@2:1", "config.replaced_key@3:1"])
        #expect(errors[0].message == #"'host' in [redis] was replaced by 'url'; write url = "redis://127.0.0.1:6379/0""#)
    }

    @Test(arguments: [
        ("rediss://h:1", "scheme 'rediss' is not supported"),
        ("unix:///tmp/redis.sock", "scheme 'unix' is not supported"),
        ("127.0.0.1:6379", "expected redis://"),
        ("redis://h:0", "the port must be between 1 and 65535"),
        ("redis://h:99999", "the port must be between 1 and 65535"),
        ("redis://h:port", "the port must be between 1 and 65535"),
        ("redis://h/db1", "the database must be a number"),
        ("redis:///0", "the URL has no host"),
        ("redis://user@h", "a user name needs a password"),
        ("redis://:%zz@h", "bad %-escape in the password"),
        ("redis://h?db=1", "query strings"),
    ])
    func badRedisURLsAreInvalidValues(_ url: String, _ reason: String) throws {
        let errors = try parseErrors("[redis]\nurl = \"\(url)\"\n")
        #expect(places(errors) == ["config.invalid_value@2:7"])
        #expect(errors[0].message.contains(reason), "\(errors[0].message)")
    }

    @Test func aRefusedURLNeverEchoesItsPassword() throws {
        let errors = try parseErrors("[redis]\nurl = \"redis://:hunter2@h?x\"\n")
        #expect(!errors[0].message.contains("hunter2"), "\(errors[0].message)")
    }

    @Test func redisURLForms() throws {
        #expect(try RedisEndpoint.parse("redis://localhost").get() == RedisEndpoint(host: "localhost"))
        #expect(try RedisEndpoint.parse("redis://h:6380/").get() == RedisEndpoint(host: "h", port: 6380))
        #expect(try RedisEndpoint.parse("redis://:pw@h:6380/3").get() == RedisEndpoint(host: "h", port: 6380, password: "pw", database: 3))
        #expect(try RedisEndpoint.parse("redis://chat:p%3Aw%40@[::1]:7000/1").get()
            == RedisEndpoint(host: "::1", port: 7000, username: "chat", password: "p:w@", database: 1))
        #expect(RedisEndpoint(host: "h", password: "secret").description == "redis://:***@h:6379/0")
    }

    // MARK: [auth] keys and claim rules

    @Test func authKeysAndClaimRules() throws {
        let config = try ConfigLoader.parse("""
            [auth]
            public_key_files = ["keys/es512.pem", "keys/ed25519.pem"]
            jwks_file = "keys/jwks.json"
            require_exp = false
            require_claims = ["obj=access"]
            reject_claims = ["obj=refresh", "act"]
            """, baseDirectory: ".", fileName: "gateway.conf").get()
        #expect(config.auth.publicKeyFiles == ["keys/es512.pem", "keys/ed25519.pem"])
        #expect(config.auth.jwksFile == "keys/jwks.json")
        #expect(config.auth.requireExp == false)
        #expect(config.auth.requireClaims == ["obj=access"])
        #expect(config.auth.rejectClaims == ["obj=refresh", "act"])
        #expect(GatewayConfig().auth.requireExp, "tokens without exp are refused unless a site says otherwise")
    }

    @Test func contextServiceKeys() throws {
        let config = try ConfigLoader.parse("""
            [auth]
            context_url = "https://www.example.com/api/chat/context"
            context_timeout_seconds = 2
            """, baseDirectory: ".", fileName: "gateway.conf").get()
        #expect(config.auth.contextURL == "https://www.example.com/api/chat/context")
        #expect(config.auth.contextTimeoutSeconds == 2)
        #expect(GatewayConfig().auth.contextURL == nil, "off unless a site sets it")
        let errors = try parseErrors("[auth]\ncontext_url = \"ftp://site/context\"\ncontext_timeout_seconds = 0\n")
        #expect(places(errors) == ["config.invalid_value@2:15", "config.out_of_range@3:27"])
        #expect(places(try parseErrors("[auth]\ncontext_url = \"http:///context\"\n")) == ["config.invalid_value@2:15"])
    }

    @Test func badClaimRulesAndKeyListsHaveCodes() throws {
        let errors = try parseErrors("[auth]\nreject_claims = [\"=refresh\"]\npublic_key_files = \"one.pem\"\nrequire_claims = [1]\n")
        #expect(places(errors) == ["config.invalid_value@2:18", "config.wrong_type@3:20", "config.wrong_type@4:19"])
    }
}
