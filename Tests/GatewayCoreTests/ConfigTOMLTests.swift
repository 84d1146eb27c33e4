import Foundation
import GatewayCore
import Testing

/// The TOML language itself, seen through a plugin's config table (the only place where any
/// TOML value is accepted).
@Suite("gateway.conf: TOML values")
struct ConfigTOMLTests {
    func pluginConfig(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigValue {
        let config = try parseValid("[[plugins]]\nname = \"p\"\nlibrary = \"p.so\"\n[plugins.config]\n" + body,
                                    sourceLocation: sourceLocation)
        return .table(config.plugins[0].config)
    }

    @Test func strings() throws {
        let value = try pluginConfig(#"""
            basic = "tab\there \"q\" \u00e9 \U0001F600 back\\slash"
            literal = 'C:\path\no escapes'
            multi = """
            line one
              line two\
                 joined"""
            multiLiteral = '''
            raw \n kept'''
            "quoted key" = 1
            'literal key' = 2
            """#)
        #expect(value == .table([
            ("basic", .string("tab\there \"q\" é 😀 back\\slash")),
            ("literal", .string("C:\\path\\no escapes")),
            ("multi", .string("line one\n  line two" + "joined")),
            ("multiLiteral", .string("raw \\n kept")),
            ("quoted key", .integer(1)),
            ("literal key", .integer(2)),
        ]))
    }

    @Test func numbersAndBooleans() throws {
        let value = try pluginConfig("""
            a = +17
            b = -1_000
            c = 0xff
            d = 0o17
            e = 0b101
            f = 3.25
            g = -1e3
            h = 6.02e+23
            i = inf
            j = false
            k = 9223372036854775807
            """)
        guard case .table(let entries) = value else { throw ConfigErrors([]) }
        #expect(entries.map(\.key) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"])
        #expect(entries.map(\.value) == [.integer(17), .integer(-1000), .integer(255), .integer(15), .integer(5),
                                         .float(3.25), .float(-1000), .float(6.02e23), .float(.infinity),
                                         .bool(false), .integer(Int.max)])
    }

    @Test func datesAndTimesAreKeptAsWritten() throws {
        let value = try pluginConfig("""
            a = 1979-05-27T07:32:00-08:00
            b = 1979-05-27 07:32:00.5
            c = 1979-05-27
            d = 07:32:00
            """)
        #expect(value == .table([("a", .string("1979-05-27T07:32:00-08:00")), ("b", .string("1979-05-27 07:32:00.5")),
                                 ("c", .string("1979-05-27")), ("d", .string("07:32:00"))]))
    }

    @Test func dottedKeysArraysAndTables() throws {
        let value = try pluginConfig("""
            site.name = "x"
            site.port = 1
            list = [ [1, 2], ["a"], ]
            empty = {}
            [plugins.config.rules]
            allow = ["text", "image"]
            [[plugins.config.routes]]
            path = "/a"
            [[plugins.config.routes]]
            path = "/b"
            """)
        #expect(value == .table([
            ("site", .table([("name", .string("x")), ("port", .integer(1))])),
            ("list", .array([.array([.integer(1), .integer(2)]), .array([.string("a")])])),
            ("empty", .table([])),
            ("rules", .table([("allow", .array([.string("text"), .string("image")]))])),
            ("routes", .array([.table([("path", .string("/a"))]), .table([("path", .string("/b"))])])),
        ]))
    }

    @Test(arguments: [
        ("a = 1__0", "config.syntax"),
        ("a = 1.", "config.syntax"),
        ("a = .5", "config.syntax"),
        ("a = 99999999999999999999", "config.syntax"),
        ("a = \"bad \\q escape\"", "config.syntax"),
        ("a = [1, 2", "config.syntax"),
        ("a = { b = 1", "config.syntax"),
        ("a = bare", "config.syntax"),
        ("= 1", "config.syntax"),
        ("a = \"\u{01}\"", "config.syntax"),
        ("a = { b = 1 }\na.c = 2", "config.duplicate_key"),
        ("a = [1]\n[[plugins.config.a]]", "config.duplicate_key"),
    ])
    func malformedTOMLIsRefused(_ body: String, _ code: String) throws {
        let errors = try parseErrors("[[plugins]]\nname = \"p\"\nlibrary = \"p.so\"\n[plugins.config]\n" + body)
        #expect(errors.map(\.code) == [code], "\(errors)")
        #expect(errors.allSatisfy { $0.line >= 5 && $0.column >= 1 }, "\(errors)")
    }

    @Test func whitespaceCommentsAndQuotedHeaders() throws {
        let config = try parseValid("""
            [ server ]   # spaces inside the brackets are allowed
            listen = "h:1"# no space before the comment
            [[ plugins ]]
            name = "p" ; library = "x"
            """.replacingOccurrences(of: " ; ", with: "\n"))
        #expect(config.server.listen == "h:1")
        #expect(config.plugins.map(\.library) == ["x"])
        let value = try pluginConfig(#"""
            [ plugins . "config" . 'a b' ]
            empty = ""
            emptyMulti = """
            """
            quotes = """say ""hi"""""
            """#)
        #expect(value == .table([("a b", .table([("empty", .string("")), ("emptyMulti", .string("")),
                                                  ("quotes", .string(#"say ""hi"""#))]))]))
    }

    @Test func byteOrderMarkIsIgnoredAndColumnsCountCharacters() throws {
        #expect(try parseValid("\u{FEFF}[server]\nlisten = \"h:1\"\n").server.listen == "h:1")
        let errors = try parseErrors("[auth]\nprincipals_claim = \"é\\q\"\n")
        #expect(errors.map { "\($0.line):\($0.column)" } == ["2:22"])
        #expect(errors[0].message == "invalid escape sequence \\q in a string")
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000)
        let errors = try parseErrors("a = " + deep + "\nb = " + String(repeating: "{ x = ", count: 100) + "1")
        #expect(errors.map(\.code) == ["config.syntax", "config.syntax"])
        #expect(errors[0].message.contains("deeper than 64"))
        #expect(errors[0].line == 1 && errors[0].column == 69)
        #expect(errors[1].line == 2)
        let fine = try pluginConfig("a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        guard case .table(let entries) = fine else { throw ConfigErrors([]) }
        #expect(entries.map(\.key) == ["a"])
    }

    @Test func implicitTableMayBeDefinedOnceLater() throws {
        let value = try pluginConfig("[plugins.config.a.b]\nx = 1\n[plugins.config.a]\ny = 2\n")
        #expect(value == .table([("a", .table([("b", .table([("x", .integer(1))])), ("y", .integer(2))]))]))
        let errors = try parseErrors("[server]\n[server]\n")
        #expect(errors.map(\.code) == ["config.duplicate_key"])
    }

    /// Mutated files must give either a config or errors with known codes and places, never a
    /// crash or a hang. A fixed seed keeps failures reproducible.
    @Test func mutatedFilesNeverCrashTheParser() throws {
        var generator = SplitMix64(seed: 0x5EED)
        let original = Array(ConfigTests.fullExample.utf8)
        let alphabet = Array("[]{}\"'=.,#\n \\_-+0a:".utf8)
        let knownCodes: Set = ["config.syntax", "config.duplicate_key", "config.unknown_section", "config.unknown_key",
                               "config.wrong_type", "config.out_of_range", "config.invalid_value", "config.missing_key",
                               "config.duplicate_plugin"]
        var refused = 0
        for _ in 0..<1000 {
            var bytes = original
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if case .failure(let errors) = ConfigLoader.parse(text, baseDirectory: ".", fileName: "f.conf") {
                refused += 1
                #expect(!errors.errors.isEmpty)
                for error in errors.errors {
                    #expect(knownCodes.contains(error.code), "\(error)")
                    #expect(error.line >= 1 && error.column >= 1, "\(error)")
                }
            }
        }
        #expect(refused > 300, "most random mutations should break the file")
    }
}

/// A small deterministic generator (SplitMix64) so fuzz-style tests replay exactly.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
