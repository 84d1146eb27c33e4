import GatewayCore
import GatewayJSON
import Testing

/// The pyams_chat event model: defaults, stamps, and refusals with stable codes.
@Suite struct EventNormalizerTests {
    private let alice = Publisher(id: "alice", title: "Alice")

    private func normalize(_ text: String, publisher: Publisher? = nil,
                           unknownFields: UnknownEventFields = .refuse) throws(GatewayError) -> JSON {
        let input = try! JSON.parse(text)
        return try EventNormalizer.normalize(input.view, id: 7, publisher: publisher ?? alice, defaultHost: "localhost",
                                             now: "2026-11-22T10:00:00.000Z", unknownFields: unknownFields)
    }

    /// What pyams_chat 2.x's ChatMessageEncoder writes to Redis, byte for byte in shape.
    static let pyamsMessage = #"{"host": "http://example.com", "channel": "chat:main", "action": "notify", "category": "content.published", "status": "info", "title": "Published", "message": "A page was published", "image": "http://example.com/++static++/img.png", "source": {"id": "users:alice", "title": "Alice", "avatar": "http://example.com/alice/++thumb++128x128"}, "target": {"principals": ["users:bob", "role:editor"]}, "url": "http://example.com/page", "modal": true, "timestamp": "2026-12-01T02:56:48.123456+00:00"}"#

    @Test func everyPyamsChatFieldIsKeptAsSent() throws {
        let redis = Publisher(id: "redis", title: nil, trusted: true)
        let event = try normalize(Self.pyamsMessage, publisher: redis).view
        let sent = try JSON.parse(Self.pyamsMessage).view
        for (key, value) in sent.members {
            #expect(event[key].encodedString() == value.encodedString(), "\(key)")
        }
        #expect(event["source"]["avatar"].string == "http://example.com/alice/++thumb++128x128")
        #expect(event["modal"].bool == true)
    }

    @Test func anUntrustedPublisherKeepsItsAvatarButNotAnotherId() throws {
        let event = try normalize(#"{"category":"c","source":{"title":"x","avatar":"a.png"},"image":null,"modal":false}"#).view
        #expect(event["source"]["id"].string == "alice")
        #expect(event["source"]["title"].string == "Alice", "the title comes from the token")
        #expect(event["source"]["avatar"].string == "a.png")
        #expect(event["image"].isNull && event["image"].exists)
        #expect(event["modal"].bool == false)
    }

    @Test func unknownFieldsAreKeptByDefaultAndRefusedWhenStrict() throws {
        let text = #"{"category":"c","extension":{"n":[1,2]},"flag":true}"#
        let kept = try normalize(text, unknownFields: .keep).view
        #expect(kept["extension"]["n"][1].int == 2)
        #expect(kept["flag"].bool == true)
        #expect(throws: GatewayError.self) { try normalize(text, unknownFields: .refuse) }
    }

    @Test func pyamsFieldsOfTheWrongTypeHaveCodes() {
        let cases: [(String, String)] = [
            (#"{"category":"c","image":5}"#, "event.field_type"),
            (#"{"category":"c","channel":[]}"#, "event.field_type"),
            (#"{"category":"c","modal":"yes"}"#, "event.field_type"),
            (#"{"category":"c","source":{"avatar":3}}"#, "event.bad_source"),
        ]
        for (text, code) in cases {
            do {
                _ = try normalize(text, unknownFields: .keep)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.code == code, "\(text)")
            }
        }
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
