import Foundation
import Testing
@testable import GatewayStore

/// Prints measured figures; run alone with `--filter HistoryThroughput`. It asserts correctness
/// (everything committed), never timing: the machine is shared.
@Suite("HistoryThroughput")
struct HistoryThroughputTests {
    @Test func recordThroughputWithThreeTargetPrincipals() throws {
        let folder = TemporaryFolder()
        let store = try HistoryStore(path: folder.file("history.sqlite"), perPrincipal: 50, queueCapacity: 200_000)
        defer { store.close() }
        let count = 200_000
        let payload = Array(#"{"action":"notify","category":"chat","title":"Hello","message":"A message of typical length for a chat notification","host":"chat.example"}"#.utf8)
        let events = (0..<count).map { index in
            StoredEvent(id: Int64(index + 1), host: "chat.example", sender: "user:\(index % 97)",
                        principals: ["user:\(index % 1_000)", "room:\(index % 50)", "role:staff"],
                        timestamp: "2026-11-22T10:00:00.000Z", payload: payload)
        }
        let cpuStart = processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        for event in events { store.record(event) }
        let enqueued = DispatchTime.now().uptimeNanoseconds
        store.flush()
        let committed = DispatchTime.now().uptimeNanoseconds
        let cpuSeconds = processCPUSeconds() - cpuStart
        let statistics = store.statistics
        #expect(statistics.committed == UInt64(count))
        #expect(statistics.dropped == 0)
        let recordSeconds = Double(enqueued - start) / 1e9
        let totalSeconds = Double(committed - start) / 1e9
        // Wall-clock figures depend on what else the shared cores run; events per CPU-second does
        // not (run alone with --filter, or other tests' CPU time is counted too).
        print(String(format: "HistoryThroughput: record() %.0f events/s (%.2f µs/call); committed+pruned %.0f events/s "
                     + "wall, %.0f events per CPU-second (%d events x 3 principals, %.2f s wall, %.2f s CPU)",
                     Double(count) / recordSeconds, recordSeconds * 1e6 / Double(count),
                     Double(count) / totalSeconds, Double(count) / cpuSeconds, count, totalSeconds, cpuSeconds))
    }
}

private func processCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
