// Reload semantics: a new chain replaces the old one; the old instances are destroyed only after
// the last holder of the old snapshot lets go, on the control queue.
import Foundation
import GatewayCore
import GatewayJSON
import Synchronization
import Testing

@Suite struct ReloadTests {
    private func entry(_ tag: String) -> GatewayConfig.Plugin {
        Fixtures.entry(tag, "libgood-wildcard.so", [("tag", .string(tag)), ("principals", .array([.string(tag)]))])
    }

    @Test func oldInstancesOutliveInFlightEvents() throws {
        let recorder = LogRecorder()
        let reference = ChainReference(try Fixtures.chain([entry("v1")], recorder: recorder))
        let event = JSON.object()
        event.set("category", "news")

        var inFlight: PluginChain? = reference.current  // an event still being routed
        reference.replace(with: try Fixtures.chain([entry("v2")], recorder: recorder))
        PluginHost.waitForPendingDestroys()
        #expect(recorder.messages == ["created v1", "created v2"], "v1 destroyed while in use")
        #expect(inFlight?.targets(for: event.view) == ["v1"])
        #expect(reference.current.targets(for: event.view) == ["v2"])

        inFlight = nil
        PluginHost.waitForPendingDestroys()
        #expect(recorder.messages == ["created v1", "created v2", "destroyed v1"])
        let destroyLine = try #require(recorder.lines.last)
        #expect(destroyLine.metadata["plugin"] == "v1", "host services log carries plugin=<entry name>")

        reference.replace(with: .empty)
        PluginHost.waitForPendingDestroys()
        #expect(recorder.messages.filter { $0.hasPrefix("destroyed") } == ["destroyed v1", "destroyed v2"])
    }

    @Test func failedReloadLeavesTheRunningChain() throws {
        let recorder = LogRecorder()
        let reference = ChainReference(try Fixtures.chain([entry("live")], recorder: recorder))
        let host = PluginHost(logger: recorder.logger)
        let result = host.makeChain([entry("candidate"), Fixtures.entry("bad", "libbad-major.so")],
                                    pluginDirectory: try Fixtures.directory(), baseDirectory: "/")
        if case .success(let chain) = result { reference.replace(with: chain) }
        #expect(reference.current.plugins.map(\.entryName) == ["live"])
        #expect(recorder.messages == ["created live", "created candidate", "destroyed candidate"])
    }

    @Test func readersDuringReplaceAlwaysSeeAWholeChain() throws {
        let recorder = LogRecorder()
        let reference = ChainReference(try Fixtures.chain([entry("g0")], recorder: recorder))
        let chains = try (1...20).map { try Fixtures.chain([entry("g\($0)")], recorder: recorder) }
        let event = JSON.object()
        event.set("category", "news")
        let bad = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            if worker == 0 {
                for chain in chains { reference.replace(with: chain) }
                return
            }
            for _ in 0..<5_000 {
                let snapshot = reference.current
                let name = snapshot.plugins.first?.entryName
                if snapshot.targets(for: event.view) != name.map({ [$0] }) { bad.withLock { $0 += 1 } }
            }
        }
        #expect(bad.withLock { $0 } == 0)
        #expect(reference.current.plugins.map(\.entryName) == ["g20"])
    }
}
