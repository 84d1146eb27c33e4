// The example config blocks in each plugin's README.md, as JSON (what the gateway hands to
// create()), must be accepted: documentation that fails at start is worse than none.
import CGatewayPlugin
import Testing

@Suite("documented plugin configs")
struct DocumentedConfigTests {
    static let examples: [(product: String, config: String)] = [
        ("CategoryTargets", #"{"admin_principal": "system:admin", "site_managers": ["group:site-managers"], "categories": {"pyams.test": ["test:user"], "chat.direct": "event-principals", "chat.room": {"event_principals": true, "groups": ["group:moderators"]}}}"#),
        ("MessageTypeFilter", #"{"field": "type", "types": ["secret"], "allowed_principals": ["role:superuser"], "redact": true, "keep_fields": ["id", "category", "timestamp", "host", "source", "target"], "redact_fields": {"message": "This message is not visible to you."}}"#),
        ("AttachmentValidator", #"{"types": ["image", "pdf", "youtube", "object_reference"], "accepted_mime": ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"], "accepted_extensions": ["png", "jpg", "jpeg", "gif", "webp", "pdf"], "max_bytes": 5242880}"#),
    ]

    @Test("README examples create instances", arguments: [0, 1, 2])
    func readmeExample(index: Int) throws {
        let example = Self.examples[index]
        let plugin = try PluginLibrary.load(example.product)
        let instance = try plugin.instance(example.config, host: TestHost())
        instance.destroy()
    }

    @Test("the CategoryTargets README example routes as documented")
    func categoryTargetsExample() throws {
        let instance = try PluginLibrary.load("CategoryTargets").instance(Self.examples[0].config, host: TestHost())
        defer { instance.destroy() }
        #expect(try instance.targets(#"{"category": "user.login"}"#).principals == ["system:admin", "group:site-managers"])
        #expect(try instance.targets(#"{"category": "chat.room", "target": {"principals": ["bob"]}}"#).principals
                == ["group:moderators", "bob"])
    }
}
