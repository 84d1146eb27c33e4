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
}
