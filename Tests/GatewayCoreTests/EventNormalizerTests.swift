import GatewayCore
import GatewayJSON
import Testing

/// The pyams_chat event model: defaults, stamps, and refusals with stable codes.
@Suite struct EventNormalizerTests {
    private let alice = Publisher(id: "alice", title: "Alice")

    private func normalize(_ text: String, publisher: Publisher? = nil) throws(GatewayError) -> JSON {
        let input = try! JSON.parse(text)
        return try EventNormalizer.normalize(input.view, id: 7, publisher: publisher ?? alice, defaultHost: "localhost",
                                             now: "2026-11-22T10:00:00.000Z")
    }

    @Test func fillsDefaultsAndStampsIdAndSource() throws {
        let event = try normalize(#"{"category":"chat.message","message":"hi","type":"secret","data":{"k":1}}"#).view
        #expect(event["id"].int == 7)
        #expect(event["action"].string == "notify")
        #expect(event["status"].string == "info")
        #expect(event["host"].string == "localhost")
        #expect(event["timestamp"].string == "2026-11-22T10:00:00.000Z")
        #expect(event["source"]["id"].string == "alice")
        #expect(event["source"]["title"].string == "Alice")
        #expect(event["url"].isNull)
        #expect(event["type"].string == "secret")
        #expect(event["data"]["k"].int == 1)
        #expect(!event["target"].exists)
    }

    @Test func trustedIngressKeepsItsSource() throws {
        let redis = Publisher(id: "redis", title: nil, trusted: true)
        let event = try normalize(#"{"category":"c","source":{"id":"system:admin","title":"Admin"}}"#, publisher: redis).view
        #expect(event["source"]["id"].string == "system:admin")
    }

    @Test func refusalsHaveStableCodes() {
        let cases: [(String, String)] = [
            (#"[1]"#, "event.not_object"),
            (#"{"message":"x"}"#, "event.missing_category"),
            (#"{"category":""}"#, "event.missing_category"),
            (#"{"category":"c","extra":1}"#, "event.unknown_field"),
            (#"{"category":"c","status":3}"#, "event.field_type"),
            (#"{"category":"c","target":["a"]}"#, "event.bad_target"),
            (#"{"category":"c","timestamp":"2026-13"}"#, "event.bad_timestamp"),
            (#"{"category":"c","attachments":[1]}"#, "event.bad_attachments"),
            (#"{"category":"c","data":"x"}"#, "event.bad_data"),
            (#"{"category":"c","id":1}"#, "event.id_not_allowed"),
            (#"{"category":"c","source":{"id":"mallory"}}"#, "event.source_forbidden"),
        ]
        for (text, code) in cases {
            do {
                _ = try normalize(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.code == code, "\(text)")
            }
        }
    }

    @Test func timestampsAreISO8601() {
        #expect(ISOTimestamp.isValid("2026-11-22T10:00:00Z"))
        #expect(ISOTimestamp.isValid("2026-11-22T10:00:00.123456+01:00"))
        #expect(!ISOTimestamp.isValid("2026-11-22"))
        #expect(!ISOTimestamp.isValid("2026-11-22T10:00:00+1"))
        #expect(ISOTimestamp.isValid(ISOTimestamp.now()))
    }
}
