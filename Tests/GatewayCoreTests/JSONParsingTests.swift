import CJansson
import CJSONLoad
import GatewayJSON
import Testing

/// JSON.parse reads with the gateway's own loader (Sources/CJSONLoad) and leaves to jansson's
/// json_loadb whatever that loader does not take. The promise: the same values as json_loadb
/// (same members, same key order), the same documents refused with the same message. Each case
/// is compared with json_loadb on the same bytes.
@Suite struct JSONParsingTests {
    private static let flags = Int(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

    /// json_loadb's result: the compact text of the value, or its error message.
    private static func jansson(_ bytes: [UInt8]) -> Result<[UInt8], JSONError> {
        Result { () throws(JSONError) in try JSON.parseWithJansson(bytes).encoded() }
    }

    private static func fast(_ bytes: [UInt8]) -> JSON? {
        bytes.withUnsafeBytes { raw in
            gw_json_load_fast(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count).map { JSON(owning: $0) }
        }
    }

    /// The loader's value, when it gives one, is json_loadb's; JSON.parse answers as json_loadb.
    private static func expectSameAsJansson(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let theirs = jansson(bytes)
        if let ours = fast(bytes) {
            guard case .success(let expected) = theirs else {
                Issue.record("the loader took what jansson refuses: \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
                return
            }
            #expect(ours.encoded() == expected, sourceLocation: sourceLocation)
            let again = try? JSON.parseWithJansson(bytes)
            #expect(again.map { json_equal(ours.pointer, $0.pointer) == 1 } == true, sourceLocation: sourceLocation)
        }
        switch (Result { () throws(JSONError) in try JSON.parse(bytes).encoded() }, theirs) {
        case (.success(let ours), .success(let expected)): #expect(ours == expected, sourceLocation: sourceLocation)
        case (.failure(let ours), .failure(let expected)): #expect(ours.description == expected.description, sourceLocation: sourceLocation)
        case (let ours, let expected):
            Issue.record("JSON.parse \(ours), jansson \(expected) for \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        }
    }

    private static func expectTakenByTheLoader(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(fast(Array(text.utf8)) != nil, "the loader gave \(text) to jansson", sourceLocation: sourceLocation)
        expectSameAsJansson(Array(text.utf8), sourceLocation: sourceLocation)
    }

    static let events = [
        #"{"category":"bench","action":"notify","message":"x","target":{"principals":["user-1"]},"data":{"bench_seq":1,"bench_ts":1764633600000000000}}"#,
        #"{"category":"chat.direct","message":"héllo \"you\"\n€😀","target":{"principals":["user:a","user:b"]},"data":{"seq":12,"x":[1,-2,null,true,false,{}],"y":[]}}"#,
        #" {"a" : [ 1 , { "b" : "\u00e9\uD83D\uDE00\/\b\f\n\r\t\\\"" } ] ,"":"empty key","\u0041":"escaped key"} "#,
        "\t\r\n[\"top array\"]", #"{"k\"ey":{"\\":[]}}"#, "\"a string\"", "0", "-0", "-9223372036854775808", "9223372036854775807",
        "true", "false", "null", "{}", "[]", "[[[[[]]]]]", "\"\u{7F}\"",
    ]

    @Test func theLoaderTakesWhatEventsAreMadeOfWithJanssonsValues() {
        for text in Self.events { Self.expectTakenByTheLoader(text) }
    }

    @Test func documentsJanssonRefusesAreRefusedWithItsMessage() {
        let refused = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{1:2}", "[1 2]", "01", "-01", "-", "+1", "1x",
            "9223372036854775808", "-9223372036854775809", "99999999999999999999", "tru", "truex", "nul", "True", "[true false]",
            "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "\"\\u0000\"", "{\"a\\u0000b\":1}", "\"\\uD800\"", "\"\\uDC00\"",
            "\"\\uD800\\u0041\"", "\"\\uD83D\"", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"unterminated", "\"a\nb\"", "\"tab\there\"",
            "\"\\", "{\"a\":1} x", "[] []", "\u{0}", "1 2",
        ]
        for text in refused {
            #expect((try? JSON.parse(text)) == nil, "accepted: \(text)")
            Self.expectSameAsJansson(Array(text.utf8))
        }
    }

    @Test func invalidUTF8IsRefusedAndValidUTF8Kept() {
        let cases: [[UInt8]] = [
            [0x22, 0xC3, 0xA9, 0x22], [0x22, 0xE2, 0x82, 0xAC, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22], [0x22, 0xF4, 0x8F, 0xBF, 0xBF, 0x22],
            [0x22, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xC1, 0xBF, 0x22], [0x22, 0xE0, 0x80, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22],
            [0x22, 0xC3, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xC3], [0xC3, 0xA9], [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D],
        ]
        for bytes in cases { Self.expectSameAsJansson(bytes) }
        #expect(Self.fast([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22]) != nil)
    }

    @Test func realsAndVeryDeepDocumentsAreLeftToJansson() throws {
        for text in ["1.5", "-0.0", "1e3", "1E-3", "[1.7976931348623157e309]", "1.", ".5", "1e", "{\"r\":2.5}"] {
            #expect(Self.fast(Array(text.utf8)) == nil, "\(text)")
            Self.expectSameAsJansson(Array(text.utf8))
        }
        #expect(try JSON.parse("{\"r\":2.5}").view["r"].double == 2.5)
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(Self.fast(Array(deep.utf8)) == nil)
        #expect(try JSON.parse(deep).view.isArray)
        let tooDeep = String(repeating: "[", count: 2100) + String(repeating: "]", count: 2100)
        Self.expectSameAsJansson(Array(tooDeep.utf8))
    }

    /// Every byte changed, dropped or doubled in each event above, and every prefix of them:
    /// whatever the loader takes must be jansson's value, whatever it refuses jansson's error.
    @Test func everyOneByteChangeOfTheEventsAnswersAsJansson() {
        let replacements: [UInt8] = [0x00, 0x09, 0x0A, 0x20, 0x22, 0x2C, 0x2D, 0x30, 0x31, 0x3A, 0x5B, 0x5C, 0x5D, 0x65, 0x75, 0x7B, 0x7D, 0x80, 0xC3, 0xFF]
        for text in Self.events {
            let bytes = Array(text.utf8)
            for index in bytes.indices {
                Self.expectSameAsJansson(Array(bytes[..<index]))
                var dropped = bytes
                dropped.remove(at: index)
                Self.expectSameAsJansson(dropped)
                var doubled = bytes
                doubled.insert(bytes[index], at: index)
                Self.expectSameAsJansson(doubled)
                for replacement in replacements where replacement != bytes[index] {
                    var changed = bytes
                    changed[index] = replacement
                    Self.expectSameAsJansson(changed)
                }
            }
        }
    }
}
