// Rough rates of the per-event paths with one real plugin. Debug builds are several times slower
// than release, so the bound only catches pathological regressions (a lock, a Counter or a JSON
// conversion per call); the printed figures are what to compare.
import Foundation
import GatewayCore
import GatewayJSON
import Testing

@Suite struct HotPathRateTests {
    @Test func filterAndTargetsRates() throws {
        let chain = try Fixtures.chain([Fixtures.entry("pass", "libgood-wildcard.so", [
            ("filter", .string("deliver")), ("principals", .array([.string("alice"), .string("bob")])),
        ])])
        let event = JSON.object()
        event.set("category", "news")
        let recipient = Recipient(id: "alice", principals: ["user:alice"], host: "localhost")
        let calls = 200_000

        var delivered = 0
        let filterStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls {
            if case .deliver = chain.filter(event.view, for: recipient) { delivered += 1 }
        }
        let filterSeconds = Double(DispatchTime.now().uptimeNanoseconds - filterStart) / 1e9

        var answered = 0
        let targetsStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls {
            answered += chain.targets(for: event.view)?.count ?? 0
        }
        let targetsSeconds = Double(DispatchTime.now().uptimeNanoseconds - targetsStart) / 1e9
        withExtendedLifetime(event) {}

        let filterRate = Double(calls) / filterSeconds, targetsRate = Double(calls) / targetsSeconds
        print("plugin hot path: filter \(Int(filterRate)) calls/s, targets \(Int(targetsRate)) calls/s (one plugin)")
        #expect(delivered == calls)
        #expect(answered == 2 * calls)
        // The rates are printed for the record, not asserted: speed is measured by the benchmark
        // (bench/), never by a timed test on a shared machine.
    }
}
