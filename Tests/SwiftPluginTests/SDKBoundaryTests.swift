// The SDK's side of the C boundary, seen through a real plugin: NULL config, message
// truncation, and instances that outlive each other.
import CGatewayPlugin
import CJansson
import Foundation
import GatewayJSON
import Testing

@Suite("Swift SDK boundary")
struct SDKBoundaryTests {
    @Test("create() with a NULL config behaves like an empty table")
    func nullConfig() throws {
        let plugin = try PluginLibrary.load("CategoryTargets")
        let host = TestHost()
        var message = gw_message()
        let instance = try #require(plugin.descriptor.pointee.create!(host.services, host.context, nil, &message),
                                    "create(NULL config) failed: \(text(of: &message))")
        let handle = PluginInstanceHandle(library: plugin, instance: instance, host: host)
        defer { handle.destroy() }
        #expect(try handle.targets(#"{"category": "user.login"}"#).principals == ["system:admin"])
    }

    @Test("host bugs get an error code, not a crash: NULL services, instance or output pointer")
    func nullPointersFromHost() throws {
        let targets = try PluginLibrary.load("CategoryTargets")
        var message = gw_message()
        let config = try JSON.parse("{}")
        #expect(targets.descriptor.pointee.create!(nil, nil, config.pointer, &message) == nil)
        #expect(text(of: &message).hasPrefix("plugin.no_host_services:"))

        let event = try JSON.parse(#"{"category": "user.login", "type": "secret"}"#)
        message = gw_message()
        var out: UnsafeMutablePointer<json_t>?
        #expect(targets.descriptor.pointee.on_targets!(nil, event.pointer, &out, &message) == gw_result(GW_ERROR))
        #expect(text(of: &message).hasPrefix("plugin.no_instance:"))
        #expect(out == nil)
        targets.descriptor.pointee.destroy!(nil)   // a no-op, not a crash

        let instance = try targets.instance("{}", host: TestHost())
        defer { instance.destroy() }
        message = gw_message()
        #expect(targets.descriptor.pointee.on_targets!(instance.instance, event.pointer, nil, &message) == gw_result(GW_ERROR))
        #expect(text(of: &message).hasPrefix("plugin.no_output:"))

        let filter = try PluginLibrary.load("MessageTypeFilter").instance(#"{"redact": true}"#, host: TestHost())
        defer { filter.destroy() }
        let recipient = try JSON.parse(#"{"id": "bob"}"#)
        message = gw_message()
        let result = filter.library.descriptor.pointee.on_filter!(filter.instance, event.pointer, recipient.pointer, nil, &message)
        #expect(result == gw_result(GW_ERROR))
        #expect(text(of: &message).hasPrefix("plugin.no_output:"))
        #expect(referenceCount(event) == 1)
    }

    @Test("long error text is truncated to the message capacity as valid UTF-8")
    func messageTruncation() throws {
        let plugin = try PluginLibrary.load("CategoryTargets")
        let longRule = String(repeating: "é", count: 600)   // 1200 bytes of two-byte characters
        let config = #"{"categories": {"a": "\#(longRule)"}}"#
        let host = TestHost()
        var message = gw_message()
        let parsed = try JSON.parse(config)
        let instance = plugin.descriptor.pointee.create!(host.services, host.context, parsed.pointer, &message)
        #expect(instance == nil)
        let bytes = withUnsafeBytes(of: &message.text) { Array($0) }
        let length = try #require(bytes.firstIndex(of: 0), "message is not NUL-terminated")
        #expect(length <= Int(GW_MESSAGE_CAPACITY) - 1)
        #expect(length >= Int(GW_MESSAGE_CAPACITY) - 2, "truncated more than needed: \(length)")
        let textBytes = Array(bytes[..<length])
        #expect(String(validating: textBytes, as: UTF8.self) != nil, "truncation split a UTF-8 sequence")
        #expect(text(of: &message).hasPrefix("category_targets.unknown_rule: category 'a'"))
    }

    @Test("on_filter is safe to call concurrently on one instance")
    func concurrentFilter() throws {
        let plugin = try PluginLibrary.load("MessageTypeFilter")
        let instance = try plugin.instance(#"{"allowed_principals": ["role:superuser"], "redact": true}"#, host: TestHost())
        defer { instance.destroy() }
        let event = try JSON.parse(#"{"type": "secret", "message": "x"}"#)
        let admin = try JSON.parse(#"{"id": "a", "principals": ["role:superuser"]}"#)
        let user = try JSON.parse(#"{"id": "b", "principals": ["group:staff"]}"#)
        let failures = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for round in 0..<2_000 {
                let toAdmin = (worker + round) % 2 == 0
                let answer = instance.filter(event, recipient: toAdmin ? admin : user)
                let expected = toAdmin ? gw_result(GW_OK) : gw_result(GW_REDACT)
                if answer.result != expected || (!toAdmin && answer.read { $0["message"].string } != "") {
                    failures.increment()
                }
            }
        }
        #expect(failures.value == 0)
        #expect(referenceCount(event) == 1)
        #expect(event.encodedString() == #"{"type":"secret","message":"x"}"#)
    }

    @Test("hook calls stay cheap: measured per-call cost of on_targets and on_filter")
    func hookCost() throws {
        let targets = try PluginLibrary.load("CategoryTargets").instance(#"{"categories": {"pyams.test": ["test:user"]}}"#, host: TestHost())
        let filter = try PluginLibrary.load("MessageTypeFilter").instance(#"{"allowed_principals": ["role:superuser"]}"#, host: TestHost())
        defer { targets.destroy(); filter.destroy() }
        let event = try JSON.parse(#"{"category": "pyams.test", "type": "secret", "message": "x"}"#)
        let recipient = try JSON.parse(#"{"id": "b", "principals": ["b", "group:staff", "role:superuser"]}"#)
        let calls = 20_000
        let targetsSeconds = measure { for _ in 0..<calls { _ = targets.targets(event) } }
        let filterSeconds = measure { for _ in 0..<calls { _ = filter.filter(event, recipient: recipient) } }
        let targetsMicros = targetsSeconds / Double(calls) * 1e6
        let filterMicros = filterSeconds / Double(calls) * 1e6
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        print("on_targets: \(targetsMicros) µs/call, on_filter: \(filterMicros) µs/call (\(configuration), including the test harness)")
        // Generous bounds (debug build, shared cores): they catch accidental O(n) work or I/O.
        #expect(targetsMicros < 50)
        #expect(filterMicros < 50)
    }

    private func measure(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
