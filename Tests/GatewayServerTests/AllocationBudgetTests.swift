import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

/// Allocation budgets, as swift-nio keeps them: the real gateway binary runs with a counting
/// malloc (MallocCounter), and the test fails when one routed event costs more heap
/// allocations than its budget. The budgets are measured figures (debug build, the one
/// `scripts/test.sh` tests) with a little headroom: when a change lowers them, lower the budget;
/// when a change must raise them, say why in the commit.
///
/// What one event costs, counted over the whole process (event loop, history writer thread):
///   - personal: one HTTP publish on a keep-alive connection → 202 → one WebSocket delivery,
///     with history on (the row is written in a group commit);
///   - fan-out: each further recipient of the same event (a shared frame, one write each).
@Suite(.serialized) struct AllocationBudgetTests {
    /// Allocations per personal event (publish → one delivery), history on. Measured 203–206
    /// (debug build, 2026-12-01, after the JSON key and encoding changes of issue 14), then
    /// 215–217 once rooms landed (room targets and presence on the publish path), 263 once the
    /// connection clocks (issue 9) cancelled four scheduled tasks per request, 225 once they
    /// stopped cancelling (ConnectionDeadlines keeps a deadline field and one lazy timer), 227
    /// on 2026-12-01 (batch publish merged), 200 once HTTP answers went below the codec as one
    /// buffer, JSON.encoded() used the gateway's own writer and the normalizer read the event's
    /// members in one pass (issue 14, session 3), 191 once JSON.parse read with the gateway's
    /// own loader (Sources/CJSONLoad: no per-byte text buffer, keys not copied; session 5), 189.7
    /// once a publish routed inline was answered without a promise (HTTPAnswer.ready).
    static let personalEventBudget = 198.0
    /// Allocations per additional recipient of one event. Measured 4.03–4.10: the frame is
    /// shared, what remains is NIO's write and flush bookkeeping per channel. It doubled (8.2)
    /// while every HTTP request cancelled scheduled tasks: NIO finds a cancelled task by a linear
    /// search of the loop's timer queue, which holds every connection's keep-alive timer, and the
    /// debug build allocates per element visited. Back to 4.07 since then.
    static let fanOutDeliveryBudget = 4.6

    static let fanOutRecipients = 40
    static let measuredEvents = 200

    @Test func routedEventsStayWithinTheirAllocationBudgets() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-allocs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let counter = try MallocCounter(folder: folder)
        let gateway = try MallocCountedGateway(folder: folder, environment: counter.environment)
        defer { gateway.stop() }
        let client = TestGatewayClient(port: gateway.port)
        let app = client.token("app", publish: true)
        let publisher = try KeepAliveHTTP(port: gateway.port)

        // Personal: one user, each event addressed to it.
        let alice = try await client.connect(client.token("alice", principals: ["user:alice"]))
        let personal = try await perEvent(counter) { sequence in
            let response = try publisher.post("/api/v1/events", token: app, body: Self.event(to: "user:alice", sequence))
            try #require(response.status == 202, "\(response.text)")
            #expect(try await alice.nextJSON().view["data"]["seq"].int == sequence)
        }

        // Fan-out: the same event shape to N subscribers of one group.
        var members: [WebSocketClient] = []
        for index in 0..<Self.fanOutRecipients {
            members.append(try await client.connect(client.token("member-\(index)", principals: ["group:fan"])))
        }
        let fanOut = try await perEvent(counter) { sequence in
            let response = try publisher.post("/api/v1/events", token: app, body: Self.event(to: "group:fan", sequence))
            try #require(response.status == 202, "\(response.text)")
            for member in members { #expect(try await member.nextJSON().view["data"]["seq"].int == sequence) }
        }
        let perDelivery = (fanOut - personal) / Double(Self.fanOutRecipients - 1)

        print("allocation budget: personal event \(personal) allocations (budget \(Self.personalEventBudget)); "
              + "fan-out \(fanOut) per event to \(Self.fanOutRecipients), \(perDelivery) per further delivery "
              + "(budget \(Self.fanOutDeliveryBudget))")
        #expect(personal > 10, "the counter counts: a routed event allocates something")
        #expect(personal <= Self.personalEventBudget, "one personal event allocates more than its budget")
        #expect(perDelivery <= Self.fanOutDeliveryBudget, "one fan-out delivery allocates more than its budget")
        for member in members { await member.close() }
        await alice.close()
    }

    private static func event(to principal: String, _ sequence: Int) -> String {
        #"{"category":"chat.direct","message":"hello","target":{"principals":["\#(principal)"]},"data":{"seq":\#(sequence)}}"#
    }

    /// Allocations per event over `measuredEvents` events, after a warm-up (caches, buffers and
    /// prepared statements reach their steady size). Each step waits for its deliveries, and the
    /// history writer's group commits fall inside the measured window (it commits within 5 ms).
    private func perEvent(_ counter: MallocCounter, _ step: (Int) async throws -> Void) async throws -> Double {
        for sequence in 0..<50 { try await step(sequence) }
        try await Task.sleep(for: .milliseconds(100))
        let before = try counter.read()
        for sequence in 0..<Self.measuredEvents { try await step(sequence) }
        try await Task.sleep(for: .milliseconds(100))
        let after = try counter.read()
        return Double(after - before) / Double(Self.measuredEvents)
    }
}

/// The gateway binary from the build folder, started with its own config and environment.
final class MallocCountedGateway {
    let port: Int
    private let process = Process()

    init(folder: String, environment: [String: String]) throws {
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestFailure("build the gateway first: swift build") }
        let configPath = folder + "/gateway.conf"
        try """
        plugin_directory = "\(products)"
        [server]
        listen = "127.0.0.1:0"
        event_loops = 1
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [history]
        path = "history.sqlite"
        [[plugins]]
        name = "category-targets"
        library = "libCategoryTargets.so"
          [plugins.config.categories]
          "chat.direct" = "event-principals"
        [[plugins]]
        name = "secret-messages"
        library = "libMessageTypeFilter.so"
          [plugins.config]
          types = ["secret"]

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath, "--log-level", "warning"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            port = try readListeningPort(from: output, within: 30)
        } catch {
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

}
