// ConsoleAudit: loaded from its real .so; output captured through a file and the host logger.
import CGatewayPlugin
import CJansson
import Foundation
import GatewayJSON
import Testing

@Suite("ConsoleAudit plugin")
struct ConsoleAuditTests {
    let plugin: LoadedCPlugin

    init() throws { plugin = try LoadedCPlugin.load(product: "ConsoleAudit") }

    static let event = #"{"id": "7", "category": "chat", "action": "message", "status": "info", "#
        + #""source": {"id": "alice", "title": "Alice A."}, "host": "localhost", "title": "Hi there", "#
        + #""message": "hello", "target": {"principals": ["bob"]}}"#

    private func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("console-audit-\(UUID().uuidString).log").path
    }

    private func fileConfig(_ path: String, format: String) -> String {
        #"{"output": "\#(path)", "format": "\#(format)"}"#
    }

    /// Calls on_targets and checks the audit never takes part in routing.
    private func audit(_ instance: CPluginInstance, _ eventJSON: String) throws {
        let event = try JSON.parse(eventJSON)
        var targets: UnsafeMutablePointer<json_t>? = nil
        var message = gw_message()
        let result = instance.descriptor.pointee.on_targets(instance.instance, event.pointer, &targets, &message)
        #expect(result == Code.skip, "the audit must answer 'no opinion' so routing is unchanged")
        #expect(targets == nil)
    }

    private func lines(of path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "every line ends with a newline")
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func descriptorIsACategoryTargetsHookForEveryCategory() throws {
        let descriptor = plugin.descriptor.pointee
        #expect(plugin.name == "console-audit")
        #expect(descriptor.abi_major == UInt32(GW_PLUGIN_ABI_MAJOR))
        #expect(descriptor.capabilities == gw_capabilities(GW_CAP_CATEGORY_TARGETS | GW_CAP_MESSENGER))
        #expect(descriptor.on_targets != nil && descriptor.on_filter == nil && descriptor.on_thumbnail == nil)
        let categories = try #require(descriptor.categories)
        #expect(categories[0].map { String(cString: $0) } == "*")
        #expect(categories[1] == nil)
    }

    @Test func lineFormatWritesOneReadableLinePerEvent() throws {
        let path = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try plugin.instance(config: fileConfig(path, format: "line"))
        try audit(instance, Self.event)
        try audit(instance, #"{"category": "typing", "action": "start"}"#)
        instance.destroy()
        #expect(try lines(of: path) == [
            #"console-audit event id=7 category=chat action=message status=info source=alice host=localhost title="Hi there""#,
            "console-audit event category=typing action=start",
        ])
    }

    @Test func valuesCannotForgeExtraLines() throws {
        let path = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try plugin.instance(config: fileConfig(path, format: "line"))
        try audit(instance, #"{"id": 12, "category": "chat", "title": "line one\nconsole-audit event id=forged"}"#)
        instance.destroy()
        #expect(try lines(of: path) == [
            #"console-audit event id=12 category=chat title="line one\nconsole-audit event id=forged""#,
        ])
    }

    @Test func jsonFormatWritesTheEventAsJSONLines() throws {
        let path = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try plugin.instance(config: fileConfig(path, format: "json"))
        try audit(instance, Self.event)
        instance.destroy()
        let written = try lines(of: path)
        try #require(written.count == 1)
        let parsed = try JSON.parse(written[0])
        let original = try JSON.parse(Self.event)
        #expect(json_equal(parsed.pointer, original.pointer) == 1, "got: \(written[0])")
    }

    @Test func logOutputGoesThroughTheHostLoggerWithTheInstanceContext() throws {
        let context: UInt = 0xA0D17
        let instance = try plugin.create(config: #"{"output": "log"}"#, context: context).get()
        try audit(instance, #"{"id": "log-test-\#(context)", "category": "chat"}"#)
        instance.destroy()
        let logged = CTestHost.shared.logLines(containing: "id=log-test-\(context)")
        try #require(logged.count == 1)
        #expect(logged[0].text == "console-audit event id=log-test-\(context) category=chat")
        #expect(logged[0].level == GW_LOG_INFO)
        #expect(logged[0].context == context)
    }

    @Test func concurrentEventsProduceWholeLines() async throws {
        let path = temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try plugin.instance(config: fileConfig(path, format: "json"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<200 {
                        try audit(instance, #"{"id": "\#(worker)-\#(index)", "category": "chat", "message": "\#(String(repeating: "x", count: 300))"}"#)
                    }
                }
            }
            try await group.waitForAll()
        }
        instance.destroy()
        let written = try lines(of: path)
        #expect(written.count == 1600)
        let ids = Set(try written.map { line in
            let event = try JSON.parse(line)
            return withExtendedLifetime(event) { event.view["id"].string ?? "" } // the view borrows `event`
        })
        #expect(ids.count == 1600, "every line must be a whole, distinct event")
    }

    @Test(arguments: [
        (#"{"output": "syslog"}"#, #"console_audit.config_invalid_value: 'output' must be "stdout", "stderr", "log" or a file path"#),
        (#"{"output": 1}"#, "console_audit.config_invalid_value: 'output' must be"),
        (#"{"format": "yaml"}"#, #"console_audit.config_invalid_value: 'format' must be "line" or "json""#),
        (#"{"verbose": true}"#, "console_audit.config_unknown_key: unknown key 'verbose'"),
        (#"{"output": "/nonexistent-dir/audit.log"}"#, "console_audit.file_open_failed: cannot open '/nonexistent-dir/audit.log' for appending: No such file or directory"),
        (#""stdout""#, "console_audit.config_invalid:"),
    ])
    func badConfigIsRefusedWithACode(config: String, expected: String) throws {
        switch try plugin.create(config: config) {
        case .success(let instance):
            instance.destroy()
            Issue.record("create accepted \(config)")
        case .failure(let refusal):
            #expect(refusal.message.hasPrefix(expected), "got: \(refusal.message)")
        }
    }

    @Test func defaultConfigIsAccepted() throws {
        let instance = try plugin.instance(config: "{}")
        instance.destroy()
        let stderrInstance = try plugin.instance(config: #"{"output": "stderr", "format": "json"}"#)
        stderrInstance.destroy()
    }
}
