// The chain's hooks with real plugins: results in chain order, and misbehaving plugins degrading
// one event (logged and counted) without taking anything else down.
import Foundation
import GatewayCore
import GatewayJSON
import Synchronization
import Testing

@Suite struct TargetsTests {
    private func event(_ category: String?) -> JSON {
        let event = JSON.object()
        if let category { event.set("category", category) }
        event.set("message", "hello")
        return event
    }

    /// Keeps the event alive for the call: a JSONView does not own what it points at.
    private func targets(_ chain: PluginChain, _ category: String?) -> [String]? {
        let value = event(category)
        return withExtendedLifetime(value) { chain.targets(for: value.view) }
    }

    private func good(_ name: String, _ library: String = "libgood.so", targets: String = "ok",
                      principals: [String] = []) -> GatewayConfig.Plugin {
        Fixtures.entry(name, library, [
            ("tag", .string(name)), ("targets", .string(targets)),
            ("principals", .array(principals.map { .string($0) })),
        ])
    }

    @Test func unionInChainOrderForMatchingCategories() throws {
        let chain = try Fixtures.chain([
            good("a", principals: ["alice", "bob"]),
            good("b", "libgood-wildcard.so", principals: ["carol", "alice"]),
            good("c", "libgood-nocategories.so", principals: ["dave"]),
        ])
        #expect(targets(chain, "news") == ["alice", "bob", "carol", "dave"])
        // "news"/"chat" plugin a is not asked for another category.
        #expect(targets(chain, "billing") == ["carol", "alice", "dave"])
        #expect(targets(chain, nil) == ["carol", "alice", "dave"])
    }

    @Test func nilWhenNobodyAnswers() throws {
        let chain = try Fixtures.chain([good("a", targets: "skip"), good("b", "libgood-wildcard.so", targets: "skip")])
        #expect(targets(chain, "news") == nil)
        let narrow = try Fixtures.chain([good("only-news", principals: ["x"])])
        #expect(targets(narrow, "billing") == nil)
        #expect(targets(PluginChain.empty, "news") == nil)
    }

    @Test func pluginPassesTheEventThrough() throws {
        let chain = try Fixtures.chain([good("echo", "libgood-wildcard.so", targets: "echo_category")])
        #expect(targets(chain, "room-42") == ["room-42"])
    }

    @Test(arguments: ["error", "weird", "null_out", "invalid_shape", "not_strings"])
    func failingPluginIsSkippedLoggedAndCounted(mode: String) throws {
        let recorder = LogRecorder()
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([
            good("broken", targets: mode),
            good("fine", "libgood-wildcard.so", principals: ["alice"]),
        ], recorder: recorder, metrics: metrics)
        #expect(targets(chain, "news") == ["alice"])
        let failures = recorder.lines.filter { $0.metadata["hook"] == "targets" }
        #expect(failures.count == 1)
        #expect(failures.first?.metadata["plugin"] == "broken")
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "broken"), ("hook", "targets")]) == 1)
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "fine"), ("hook", "targets")]) == 0)
        if mode == "error" {
            #expect(failures.first?.metadata["reason"] == "targets exploded in broken")
        }
        // Alone, a failing handler means "no computed targets", never a broadcast.
        let alone = try Fixtures.chain([good("broken", targets: mode)])
        #expect(targets(alone, "news") == [])
    }
}

@Suite struct FilterTests {
    private let event: JSON = {
        let event = JSON.object()
        event.set("category", "news")
        event.set("message", "secret")
        return event
    }()
    private let alice = Recipient(id: "alice", principals: ["user:alice"], host: "chat.example")

    private func filter(_ name: String, _ mode: String, _ extra: [(key: String, value: ConfigValue)] = []) -> GatewayConfig.Plugin {
        Fixtures.entry(name, "libgood.so", [("tag", .string(name)), ("filter", .string(mode))] + extra)
    }

    @Test func noFiltersDeliver() throws {
        let chain = try Fixtures.chain([])
        #expect(!chain.hasRecipientFilters)
        guard case .deliver = chain.filter(event.view, for: alice) else { Issue.record("not delivered"); return }
    }

    @Test func deliverSkipAndDrop() throws {
        let passing = try Fixtures.chain([filter("a", "deliver"), filter("b", "skip")])
        #expect(passing.hasRecipientFilters)
        guard case .deliver = passing.filter(event.view, for: alice) else { Issue.record("not delivered"); return }
        let dropping = try Fixtures.chain([filter("a", "skip"), filter("b", "drop"), filter("c", "redact")])
        guard case .drop = dropping.filter(event.view, for: alice) else { Issue.record("not dropped"); return }
    }

    @Test func filterSeesTheRecipient() throws {
        let chain = try Fixtures.chain([filter("a", "drop_id", [("drop_id", .string("bob"))])])
        guard case .deliver = chain.filter(event.view, for: alice) else { Issue.record("alice dropped"); return }
        var bob = alice
        bob.id = "bob"  // the prebuilt JSON follows the change
        guard case .drop = chain.filter(event.view, for: bob) else { Issue.record("bob delivered"); return }
        #expect(bob.json.view["id"].string == "bob")
        #expect(bob.json.view["principals"].strings == ["user:alice"])
        #expect(bob.json.view["host"].string == "chat.example")
    }

    @Test func redactedCopyFeedsTheNextFilter() throws {
        let chain = try Fixtures.chain([filter("first", "redact"), filter("pass", "deliver"), filter("second", "redact")])
        guard case .redacted(let copy) = chain.filter(event.view, for: alice) else { Issue.record("not redacted"); return }
        #expect(copy.view["redactions"].int == 2)
        #expect(copy.view["message"].string == "[redacted by second for alice]")
        // The shared event is untouched.
        #expect(event.view["message"].string == "secret")
        #expect(!event.view["redactions"].exists)
    }

    @Test(arguments: ["error", "weird", "redact_null", "redact_array"])
    func failingFilterFailsClosed(mode: String) throws {
        let recorder = LogRecorder()
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([filter("bad", mode), filter("after", "deliver")], recorder: recorder, metrics: metrics)
        for _ in 0..<3 {
            guard case .drop = chain.filter(event.view, for: alice) else { Issue.record("\(mode) delivered"); return }
        }
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "bad"), ("hook", "filter")]) == 3)
        #expect(recorder.lines.filter { $0.metadata["hook"] == "filter" && $0.metadata["plugin"] == "bad" }.count == 3)
    }

    @Test func concurrentFiltersFromManyThreads() throws {
        let chain = try Fixtures.chain([filter("first", "redact"), filter("second", "drop_id", [("drop_id", .string("nobody"))])])
        let count = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            var local = 0
            for _ in 0..<2_000 {
                if case .redacted(let copy) = chain.filter(event.view, for: alice), copy.view["redactions"].int == 1 { local += 1 }
            }
            count.withLock { $0 += local }
        }
        #expect(count.withLock { $0 } == 16_000)
    }
}

@Suite struct AttachmentTests {
    private func validator(_ name: String, _ mode: String) -> GatewayConfig.Plugin {
        Fixtures.entry(name, "libgood.so", [("tag", .string(name)), ("validate", .string(mode))])
    }

    private func metadata(size: Int) -> JSON {
        let metadata = JSON.object()
        metadata.set("type", "image")
        metadata.set("name", "cat.png")
        metadata.set("size", .integer(size))
        return metadata
    }

    private func validate(_ chain: PluginChain, size: Int, _ bytes: UnsafeRawBufferPointer?) -> PluginChain.AttachmentVerdict {
        let value = metadata(size: size)
        return withExtendedLifetime(value) { chain.validateAttachment(metadata: value.view, bytes: bytes) }
    }

    @Test func acceptedRejectedFailed() throws {
        let bytes: [UInt8] = [1, 2, 3, 4]
        let accepting = try Fixtures.chain([validator("s", "skip"), validator("a", "accept")])
        bytes.withUnsafeBytes { raw in
            #expect(validate(accepting, size: 4, raw) == .accepted)
            // The plugin sees the real byte count.
            #expect(validate(accepting, size: 5, raw)
                    == .rejected(plugin: "a", message: "size 5 does not match 4 bytes"))
        }
        let rejecting = try Fixtures.chain([validator("a", "accept"), validator("r", "reject"), validator("e", "error")])
        #expect(validate(rejecting, size: 0, nil)
                == .rejected(plugin: "r", message: "r refuses cat.png"))
        let metrics = RecordingMetrics()
        let failing = try Fixtures.chain([validator("e", "error")], metrics: metrics)
        #expect(validate(failing, size: 0, nil)
                == .failed(plugin: "e", message: "validator broke"))
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "e"), ("hook", "validate_attachment")]) == 1)
    }

    @Test func nobodyAcceptingMeansRejected() throws {
        let skipping = try Fixtures.chain([validator("s", "skip")])
        let expected = PluginChain.AttachmentVerdict.rejected(plugin: "gateway", message: "no plugin accepts this attachment type")
        #expect(validate(skipping, size: 0, nil) == expected)
        #expect(validate(PluginChain.empty, size: 0, nil) == expected)
    }

    private func thumbnailer(_ name: String, _ mode: String) -> GatewayConfig.Plugin {
        Fixtures.entry(name, "libgood.so", [("tag", .string(name)), ("thumbnail", .string(mode))])
    }

    @Test func thumbnailComesBackOwnedByTheHost() throws {
        let chain = try Fixtures.chain([thumbnailer("skip", "skip"), thumbnailer("t", "ok")])
        let image: [UInt8] = [10, 20, 30]
        let outcome = image.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/x-test", maxWidth: 100, maxHeight: 100) }
        #expect(outcome == .thumbnail(bytes: [30, 20, 10], mime: "image/x-thumb", width: 10, height: 5))
        let small = image.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/x-test", maxWidth: 4, maxHeight: 3) }
        #expect(small == .thumbnail(bytes: [30, 20, 10], mime: "image/x-thumb", width: 4, height: 3))
        let other = image.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/png", maxWidth: 100, maxHeight: 100) }
        #expect(other == .notHandled)
    }

    @Test func thumbnailErrors() throws {
        let image: [UInt8] = [1]
        func run(_ mode: String) throws -> PluginChain.ThumbnailOutcome {
            let chain = try Fixtures.chain([thumbnailer("t", mode)])
            return image.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/x-test", maxWidth: 8, maxHeight: 8) }
        }
        #expect(try run("reject") == .rejected(plugin: "t", message: "corrupt image"))
        #expect(try run("error") == .failed(plugin: "t", message: "decoder crashed"))
        #expect(try run("no_bytes") == .failed(plugin: "t", message: "GW_OK without thumbnail bytes"))
        #expect(try run("too_big") == .failed(plugin: "t", message: "thumbnail 8x13 does not fit the 8x8 box"))
        let chain = try Fixtures.chain([thumbnailer("t", "ok")])
        let empty: [UInt8] = []
        #expect(empty.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/x-test", maxWidth: 8, maxHeight: 8) }
                == .rejected(plugin: "gateway", message: "the image is empty"))
        #expect(image.withUnsafeBytes { chain.thumbnail(bytes: $0, mime: "image/x-test", maxWidth: 0, maxHeight: 8) }
                == .failed(plugin: "gateway", message: "invalid thumbnail box 0x8"))
    }
}

@Suite struct FailureLogThrottleTests {
    @Test func everyFailureCountedButLogsThrottled() throws {
        let recorder = LogRecorder()
        let metrics = RecordingMetrics()
        let chain = try Fixtures.chain([Fixtures.entry("bad", "libgood.so", [("filter", .string("error"))])],
                                       recorder: recorder, metrics: metrics)
        let event = JSON.object()
        let recipient = Recipient(id: "alice", principals: [], host: "localhost")
        for _ in 0..<2_500 {
            guard case .drop = chain.filter(event.view, for: recipient) else { Issue.record("delivered"); return }
        }
        withExtendedLifetime(event) {}
        #expect(metrics.total("gateway_plugin_errors_total", [("plugin", "bad"), ("hook", "filter")]) == 2_500)
        let logged = recorder.lines.filter { $0.metadata["hook"] == "filter" }.compactMap { $0.metadata["failures"] }
        #expect(logged == (1...20).map(String.init) + ["1000", "2000"])
    }
}
