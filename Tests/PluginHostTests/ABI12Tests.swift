// ABI 1.2 on the host side: messengers, coded refusals, older plugins still loading, a Swift
// plugin from another toolchain refused, and a plugin rebuilt at the same path picked up.
import Foundation
import GatewayCore
import GatewayJSON
import Testing

@Suite struct ABI12Tests {
    private func messenger(_ name: String, outcome: String) -> GatewayConfig.Plugin {
        Fixtures.entry(name, "libmessenger.so", [("outcome", .string(outcome))])
    }

    private func send(_ chain: PluginChain, _ alias: String) throws -> SendOutcome {
        let event = try JSON.parse(#"{"id": 7, "category": "chat.direct", "message": "hi"}"#)
        let recipient = try JSON.parse(#"{"id": "bob", "principals": ["bob"]}"#)
        return chain.send(alias: alias, event: event.view, recipient: recipient.view, address: "bob@example.org",
                          attempt: 2, deliveryID: "7-bob-mail")
    }

    @Test func messengerOutcomesCarryStableCodes() throws {
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([messenger("mail", outcome: "sent"), messenger("down", outcome: "retry"),
                                        messenger("picky", outcome: "refuse"), messenger("old", outcome: "refuse_uncoded"),
                                        messenger("buggy", outcome: "error")], metrics: metrics)
        #expect(chain.messengerAliases == ["mail", "down", "picky", "old", "buggy"])
        #expect(try send(chain, "mail") == .sent)
        #expect(try send(chain, "down") == .retryLater(code: "fixture.down", reason: "server down"))
        #expect(try send(chain, "picky") == .refused(code: "fixture.bad_address", reason: "no such mailbox"))
        #expect(try send(chain, "old") == .refused(code: "messenger.refused", reason: "no code given"))
        #expect(try send(chain, "buggy") == .retryLater(code: "messenger.failed", reason: "bug"))
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "buggy"), ("hook", "send")]) == 1)
        #expect(try send(chain, "nobody") == .unknownMessenger)
    }

    @Test func messengerSeesTheDeliveryItWasHanded() throws {
        let chain = try Fixtures.chain([messenger("echo", outcome: "echo")])
        #expect(chain.hasMessenger("echo"))
        #expect(try send(chain, "echo") == .retryLater(code: "fixture.seen", reason: "echo bob@example.org bob chat.direct #2 7-bob-mail"))
        let test = chain.sendTest(alias: "echo", address: "me@example.org")
        #expect(test == .retryLater(code: "fixture.seen", reason: "echo me@example.org test gateway.test #1 test"),
                "no on_send_test: the host tests through on_send with a synthetic event")
        let info = try PluginInspector.inspect(path: try Fixtures.path("libmessenger.so")).get()
        #expect(info.capabilities == ["messenger"])
        #expect(info.abiMinor == 2)
    }

    @Test func aPluginBuiltForABI11StillLoads() throws {
        let info = try PluginInspector.inspect(path: try Fixtures.path("libgood-v1_1.so")).get()
        #expect(info.abiMajor == 1 && info.abiMinor == 1)
        let chain = try Fixtures.chain([Fixtures.entry("old", "libgood-v1_1.so", [("validate", .string("reject"))])])
        let event = try JSON.parse(#"{"category":"news","message":"x"}"#)
        #expect(!chain.filterPlan(for: event.view).isEmpty)
        #expect(chain.messengerAliases.isEmpty)
        // A 1.1 refusal has no code: the host sees nil and applies the stage's default.
        let metadata = try JSON.parse(#"{"type":"file","name":"a.bin","mime":"application/x-test","size":4}"#)
        let verdict = [UInt8]("abcd".utf8).withUnsafeBytes { chain.validateAttachment(metadata: metadata.view, bytes: $0) }
        guard case .rejected(_, _, let code, let status) = verdict else {
            Issue.record("expected a rejection, got \(verdict)"); return
        }
        #expect(code == nil && status == nil)
    }

    @Test func aSwiftPluginFromAnotherToolchainIsRefused() throws {
        let host = PluginHost(logger: LogRecorder().logger)
        guard case .failure(let errors) = host.makeChain([Fixtures.entry("swifty", "libother-swift.so")],
                                                        pluginDirectory: try Fixtures.directory(), baseDirectory: "/") else {
            Issue.record("a plugin built by Swift 5.9 was loaded"); return
        }
        #expect(errors.map(\.code) == ["plugin.swift_toolchain_mismatch"])
        #expect(errors[0].message.contains("swift-5.9.0"))
        #expect(errors[0].message.contains("rebuild the plugin"))
    }

    /// SIGHUP reload after `swift build` rewrote a plugin: the new code serves the new chain, the
    /// old chain (still held by an in-flight event) keeps the old code.
    @Test func aPluginRebuiltAtTheSamePathIsPickedUp() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rebuild-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/libswap.so"
        try FileManager.default.copyItem(atPath: try Fixtures.path("libgood.so"), toPath: path)
        let host = PluginHost(logger: LogRecorder().logger)
        let entry = Fixtures.entry("swap", path)
        let first = try host.makeChain([entry], pluginDirectory: folder, baseDirectory: "/").get()
        #expect(first.plugins.map(\.name) == ["fixture-good"])

        // "Rebuild": a different build replaces the file, as a linker does (new inode).
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: try Fixtures.path("libgood-v1_1.so"), toPath: path)
        let second = try host.makeChain([entry], pluginDirectory: folder, baseDirectory: "/").get()
        #expect(second.plugins.map(\.name) == ["fixture-abi-1.1"])
        #expect(first.plugins.map(\.name) == ["fixture-good"], "the old image stays mapped for the old chain")

        // Unchanged file: the loaded image is reused, not copied again.
        let third = try host.makeChain([entry], pluginDirectory: folder, baseDirectory: "/").get()
        #expect(third.plugins.map(\.name) == ["fixture-abi-1.1"])
        PluginHost.waitForPendingDestroys()
    }
}
