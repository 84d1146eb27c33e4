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
            port = 63.79
            [auth]
            principals_claim = ["a"]
            """)
        #expect(places(errors) == ["config.wrong_type@2:21", "config.wrong_type@4:11", "config.wrong_type@5:8",
                                   "config.wrong_type@7:20"])
        #expect(errors[0].message == "'max_message_bytes' in [server] must be an integer, got a string")
        #expect(errors[2].message == "'port' in [redis] must be an integer, got a float")
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
            [redis]
            port = 70000
            [attachments]
            thumbnail_width = 0
            """)
        #expect(places(errors) == ["config.out_of_range@2:19", "config.out_of_range@3:15", "config.out_of_range@5:8",
                                   "config.out_of_range@7:19"])
        #expect(errors[2].message == "'port' in [redis] must be between 1 and 65535, got 70000")
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
            port.x = 1
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
            [redis]
            port = 0
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
            == ["my.conf:2:8", "my.conf:4:1", "my.conf:5:21", "my.conf:10:8"])
    }
}
