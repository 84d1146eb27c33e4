// message-type-filter loaded from its real .so: chat_api's "secret messages only for some" rule.
import CGatewayPlugin
import GatewayJSON
import Testing

@Suite("message-type-filter plugin")
struct MessageTypeFilterTests {
    let plugin: PluginLibrary
    init() throws { plugin = try PluginLibrary.load("MessageTypeFilter") }

    static let secret = #"{"category": "chat", "type": "secret", "title": "Plan", "message": "the code is 1234", "attachments": [{"type": "image"}], "data": {"pin": "1234"}, "url": "http://example.com/plan"}"#
    static let admin = #"{"id": "alice", "principals": ["alice", "role:superuser"], "host": "http://example.com"}"#
    static let user = #"{"id": "bob", "principals": ["bob", "group:staff"], "host": "http://example.com"}"#

    @Test("secret events reach role holders and are dropped for others; other types pass")
    func dropMode() throws {
        let instance = try plugin.instance(#"{"allowed_principals": ["role:superuser"]}"#, host: TestHost())
        defer { instance.destroy() }
        let secret = try JSON.parse(Self.secret)
        let toAdmin = instance.filter(secret, recipient: try JSON.parse(Self.admin))
        #expect(toAdmin.result == gw_result(GW_OK))
        let toUser = instance.filter(secret, recipient: try JSON.parse(Self.user))
        #expect(toUser.result == gw_result(GW_DROP))
        #expect(toUser.output == nil)
        let normal = try JSON.parse(#"{"type": "text", "message": "hi"}"#)
        #expect(instance.filter(normal, recipient: try JSON.parse(Self.user)).result == gw_result(GW_OK))
        let untyped = try JSON.parse(#"{"message": "hi"}"#)
        #expect(instance.filter(untyped, recipient: try JSON.parse(Self.user)).result == gw_result(GW_OK))
    }

    @Test("a recipient id listed in allowed_principals also sees the event")
    func userIdAllowed() throws {
        let instance = try plugin.instance(#"{"types": ["secret", "hr"], "allowed_principals": ["bob"]}"#, host: TestHost())
        defer { instance.destroy() }
        let hr = try JSON.parse(#"{"type": "hr"}"#)
        #expect(instance.filter(hr, recipient: try JSON.parse(#"{"id": "bob", "principals": []}"#)).result == gw_result(GW_OK))
        #expect(instance.filter(hr, recipient: try JSON.parse(#"{"id": "eve"}"#)).result == gw_result(GW_DROP))
        // A malformed recipient matches nothing, so the filter fails closed.
        #expect(instance.filter(hr, recipient: try JSON.parse(#"{"principals": "bob"}"#)).result == gw_result(GW_DROP))
    }

    @Test("redact mode delivers a fresh copy with only the kept fields, replacements and the type")
    func redactMode() throws {
        let instance = try plugin.instance(#"""
            {"allowed_principals": ["role:superuser"], "redact": true,
             "redact_fields": {"message": "This message is hidden.", "title": ""},
             "keep_fields": ["id", "category"]}
            """#, host: TestHost())
        defer { instance.destroy() }
        let secret = try JSON.parse(Self.secret)
        let answer = instance.filter(secret, recipient: try JSON.parse(Self.user))
        #expect(answer.result == gw_result(GW_REDACT))
        let redacted = try #require(answer.output)
        #expect(referenceCount(redacted) == 1)
        #expect(redacted.pointer != secret.pointer)
        withExtendedLifetime(redacted) {
            let view = redacted.view
            #expect(view["message"].string == "This message is hidden.")
            #expect(view["title"].string == "")
            #expect(!view["attachments"].exists)
            #expect(!view["data"].exists && !view["url"].exists, "fields nobody listed stay out (fail closed)")
            #expect(view["redacted"].bool == true)
            #expect(view["type"].string == "secret")
        }
        // The borrowed event is untouched.
        #expect(secret.encodedString() == (try JSON.parse(Self.secret)).encodedString())
        #expect(instance.filter(secret, recipient: try JSON.parse(Self.admin)).result == gw_result(GW_OK))
    }

    @Test("remove_fields (a deny-list) is refused with a pointer to keep_fields")
    func removeFieldsRefused() throws {
        switch try plugin.create(#"{"redact": true, "remove_fields": ["url"]}"#, host: TestHost()) {
        case .success(let instance):
            instance.destroy()
            Issue.record("remove_fields was accepted")
        case .failure(let failure):
            #expect(failure.message.contains("keep_fields"), "\(failure.message)")
        }
    }

    @Test("redact without fields blanks the message text")
    func redactDefault() throws {
        let instance = try plugin.instance(#"{"redact": true}"#, host: TestHost())
        defer { instance.destroy() }
        let answer = instance.filter(try JSON.parse(Self.secret), recipient: try JSON.parse(Self.admin))
        #expect(answer.result == gw_result(GW_REDACT))
        #expect(answer.read { $0["message"].string } == "")
        #expect(answer.read { $0["title"].exists } == false, "the title is not on the default allow-list")
        #expect(answer.read { $0["type"].string } == "secret")
    }

    @Test("the type may live in a nested field")
    func nestedField() throws {
        let instance = try plugin.instance(#"{"field": "data.kind", "types": ["private"], "allowed_principals": ["role:superuser"]}"#,
                                           host: TestHost())
        defer { instance.destroy() }
        let event = try JSON.parse(#"{"type": "text", "data": {"kind": "private"}}"#)
        #expect(instance.filter(event, recipient: try JSON.parse(Self.user)).result == gw_result(GW_DROP))
        #expect(instance.filter(event, recipient: try JSON.parse(Self.admin)).result == gw_result(GW_OK))
    }

    @Test("an empty allowed list is accepted with a warning in the host log")
    func emptyAllowedWarns() throws {
        let host = TestHost()
        let instance = try plugin.instance("{}", host: host)
        defer { instance.destroy() }
        #expect(host.logLines.contains { $0.level == GW_LOG_WARNING && $0.text.contains("allowed_principals is empty") })
        #expect(instance.filter(try JSON.parse(Self.secret), recipient: try JSON.parse(Self.admin)).result == gw_result(GW_DROP))
    }

    @Test("bad configurations are refused with NULL and a stable code", arguments: [
        (#"{"types": []}"#, "message_type_filter.no_types:"),
        (#"{"types": "secret"}"#, "message_type_filter.bad_type:"),
        (#"{"field": "data..kind"}"#, "message_type_filter.bad_field:"),
        (#"{"redact_fields": {"message": ""}}"#, "message_type_filter.redaction_disabled:"),
        (#"{"redact": "yes"}"#, "message_type_filter.bad_type:"),
        (#"{"roles": ["admin"]}"#, "message_type_filter.unknown_key:"),
        (#"{"redact": true, "keep_fields": [1]}"#, "message_type_filter.bad_type:"),
        (#"{"redact": true, "remove_fields": ["url"]}"#, "message_type_filter.remove_fields_replaced:"),
    ])
    func badConfig(config: String, code: String) throws {
        let message = try plugin.createError(config, host: TestHost())
        #expect(message.hasPrefix(code), "got: \(message)")
    }
}
