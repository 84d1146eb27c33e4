import CJansson
import GatewayJSON
import Testing

/// JSON.encoded() writes with the gateway's own compact encoder (Sources/CJSONDump); what clients
/// receive must stay byte for byte what jansson's json_dumpb wrote before. Each case is compared
/// with json_dumpb on the same document.
@Suite struct JSONEncodingTests {
    private static func jansson(_ json: JSON) -> [UInt8] {
        let flags = Int(JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
        let pointer = json.view.pointer
        let needed = json_dumpb(pointer, nil, 0, flags)
        guard needed > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: needed) { buffer, count in
            count = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: needed) { json_dumpb(pointer, $0, needed, flags) }
        }
    }

    private static func expectSameAsJansson(_ json: JSON, sourceLocation: SourceLocation = #_sourceLocation) {
        let ours = json.encoded()
        let theirs = jansson(json)
        #expect(!theirs.isEmpty, sourceLocation: sourceLocation)
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: theirs, as: UTF8.self), sourceLocation: sourceLocation)
        #expect(ours == theirs, sourceLocation: sourceLocation)
    }

    @Test func everyControlCharacterQuoteAndBackslashIsEscapedAsJanssonDoes() {
        var text = ""
        for scalar in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        text += "\"\\/\u{7F} é € 😀 </script>"
        let document = JSON.object()
        document.set("text", text)
        document.set(text, "the key is escaped too")
        Self.expectSameAsJansson(document)
        Self.expectSameAsJansson(.string(text))
        #expect(JSON.string("a\u{1}b\u{1F}").encodedString() == #""a\u0001b\u001F""#)
    }

    @Test func numbersLiteralsAndContainersMatchJansson() {
        let document = JSON.object()
        for (index, value) in [0, 1, -1, Int.max, Int.min, 1_234_567_890_123].enumerated() { document.set("i\(index)", .integer(value)) }
        for (index, value) in [0.0, -0.0, 0.1, 1.0, 1.5e300, -2.5e-300, 3.141592653589793, 100.0, 1e21].enumerated() {
            document.set("r\(index)", .number(value))
        }
        document.set("t", .bool(true))
        document.set("f", .bool(false))
        document.set("n", .null())
        document.set("empty_object", .object())
        document.set("empty_array", .array())
        let nested = JSON.array()
        nested.append(.strings(["a", "b"]))
        nested.append(.object())
        nested.append(.integer(7))
        document.set("nested", nested)
        Self.expectSameAsJansson(document)
        for value in [JSON.integer(42), .number(2.5), .bool(false), .null(), .array(), .object()] { Self.expectSameAsJansson(value) }
    }

    @Test func keysKeepInsertionOrderAfterRemovalAndReplacement() {
        let document = JSON.object()
        for key in ["zeta", "alpha", "mid", "beta"] { document.set(key, key) }
        document.remove("alpha")
        document.set("mid", .integer(2))
        document.set("alpha", "again")
        Self.expectSameAsJansson(document)
        #expect(document.encodedString() == #"{"zeta":"zeta","mid":2,"beta":"beta","alpha":"again"}"#)
    }

    @Test func aParsedEventAndADocumentLargerThanTheFirstBufferMatchJansson() throws {
        let event = try JSON.parse(#"{"category":"chat.direct","message":"héllo \"you\"\n","target":{"principals":["user:a","user:b"]},"data":{"seq":12,"x":[1,2.5,null,true]}}"#)
        Self.expectSameAsJansson(event)
        let large = JSON.object()
        for index in 0..<200 { large.set("key-\(index)", "value \(index) with \"quotes\" and \\ slashes") }
        #expect(large.encoded().count > 4096)
        Self.expectSameAsJansson(large)
    }

    @Test func aDocumentDeeperThanTheEncoderGoesIsStillEncodedByJansson() {
        var document = JSON.integer(1)
        for _ in 0..<600 {
            let wrapper = JSON.array()
            wrapper.append(document)
            document = wrapper
        }
        Self.expectSameAsJansson(document)
        #expect(document.encoded().count == 1201)
    }
}
