import Foundation
import GatewayChatClient
import GatewayJSON

/// A `gateway run` process (the real binary from the build folder) with `[engine] kind = "redis"`,
/// on its own data folder and a free port. Several of them on one redis-server are one gateway.
final class GatewayNodeProcess: GatewayEndpoint, Sendable {
    let name: String
    let port: Int
    private let process = Process()

    /// `engineConfig`: more lines of `[engine]` (e.g. `presence_ttl_seconds = 3`); `extraConfig`:
    /// more lines of `[redis]`, then any further sections; `historyConfig`: more lines of `[history]`.
    init(name: String, redisPort: Int, engineConfig: String = "", historyConfig: String = "", extraConfig: String = "") throws {
        self.name = name
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw TestFailure("build the gateway first: swift build") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-node-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configPath = folder + "/gateway.conf"
        try """
        plugin_directory = "\(products)"
        [server]
        listen = "127.0.0.1:0"
        event_loops = 1
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [engine]
        kind = "redis"
        \(engineConfig)
        [history]
        path = "history.sqlite"
        per_recipient = 10000
        \(historyConfig)
        [redis]
        url = "redis://127.0.0.1:\(redisPort)/0"
        \(extraConfig)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath, "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try readListeningPort(from: output, within: 60, who: "the gateway node")
        // Drain stdout so a chatty node never blocks on a full pipe.
        Thread.detachNewThread { while !output.fileHandleForReading.availableData.isEmpty {} }
    }

    var isRunning: Bool { process.isRunning }

    func kill(_ signal: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
    }

    /// GET /healthz: the status code and the "status" member.
    func health() throws -> (code: Int, status: String?) {
        let response = try http("GET", "/healthz")
        return (response.status, (try? response.json())?.view["status"].string)
    }

}

/// A real redis-server and three gateway nodes on it.
final class TestCluster: Sendable {
    let redis: RedisServerProcess
    let nodes: [GatewayNodeProcess]

    /// `redisConfig`: more lines of each node's `[redis]` section (e.g. `enabled = true`).
    init(nodes count: Int = 3, engineConfig: String = "", historyConfig: String = "", redisConfig: String = "") throws {
        redis = try RedisServerProcess()
        var nodes: [GatewayNodeProcess] = []
        for index in 0..<count {
            nodes.append(try GatewayNodeProcess(name: "n\(index)", redisPort: redis.port, engineConfig: engineConfig,
                                                historyConfig: historyConfig, extraConfig: redisConfig))
        }
        self.nodes = nodes
        for node in nodes { try waitFor("node \(node.name) healthy") { try node.health().code == 200 } }
    }

    func stop() {
        for node in nodes { node.kill(SIGKILL) }
        redis.stop()
    }

    /// `redis-cli INFO commandstats` → calls per command name.
    func commandCalls() throws -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in try redis.command(["INFO", "commandstats"]).split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let range = line.range(of: "calls=") {
                calls[String(name)] = Int(line[range.upperBound...].prefix(while: \.isNumber))
            }
        }
        return calls
    }
}

/// Polls until `condition` holds; the bound is generous and only keeps a broken run from hanging.
func waitFor(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) throws {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if (try? condition()) == true { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw TestFailure("timed out after \(Int(seconds)) s waiting for: \(what)")
}

/// The same, for async tests: sleeps without holding one of the few cooperative threads.
func eventually(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) async throws {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if (try? condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("timed out after \(Int(seconds)) s waiting for: \(what)")
}

extension WebSocketClient {
    /// Events (frames with an "id" and no "type") until `count` arrived; fails on a timeout.
    func events(_ count: Int, timeout: TimeAmountSeconds = 10) async throws -> [JSON] {
        var events: [JSON] = []
        while events.count < count {
            let frame = try await nextJSON(timeout: .seconds(Int64(timeout)))
            if frame.view["type"].string == nil { events.append(frame) }
        }
        return events
    }
}

typealias TimeAmountSeconds = Int
