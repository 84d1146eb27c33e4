import ArgumentParser
import Foundation
import NIOPosix

/// Scenario 3: N idle subscribers; the server's RSS growth divided by N.
struct IdleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "idle", abstract: "N idle connections; server memory per connection.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Idle connections to hold.")
    var connections: Int = 10_000

    @Option(help: "Seconds to hold them before the second RSS reading.")
    var hold: Double = 3

    func run() throws {
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1") }
        guard let serverPid = connection.serverPid else {
            throw ValidationError("idle needs --server-pid to read the server's RSS")
        }
        try runReportingErrors { try measure(serverPid: serverPid).print() }
    }

    private func measure(serverPid: Int32) throws -> Report {
        let fileLimit = ProcessProbe.raiseOpenFileLimit()
        guard connections + 64 <= fileLimit else {
            throw BenchError.invalidOption("\(connections) connections need more open files than the limit \(fileLimit)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: connection.threads)
        defer { try? group.syncShutdownGracefully() }
        let stats = DeliveryStats()
        let connector = try SubscriberConnector(
            group: group, target: connection.target(), options: connection, stats: stats,
            recorders: LatencyRecorders(group: group)
        )
        defer { connector.closeAll() }

        let rssBefore = try ProcessProbe.rssKilobytes(pid: serverPid)
        let clientRSSBefore = ProcessProbe.selfRSSKilobytes() ?? 0
        let connected = connector.connect(count: connections, audience: { _ in .fanout })
        guard !connected.connectedIndices.isEmpty else {
            throw connected.noneConnectedError
        }
        Thread.sleep(forTimeInterval: Swift.max(hold, connection.settle))
        let rssAfter = try ProcessProbe.rssKilobytes(pid: serverPid)
        let clientRSSAfter = ProcessProbe.selfRSSKilobytes() ?? 0
        let held = stats.liveConnections.load(ordering: .relaxed)

        var report = Report(scenario: "idle", server: connection.server)
        report.add("connections", .int(connections))
        report.add("connected", .int(connected.connectedIndices.count))
        report.add("connect_failed", .int(connected.failed))
        if let firstError = connected.firstError { report.add("connect_error", .string(firstError)) }
        report.add("connect_s", .double(connected.seconds))
        report.add("still_open", .int(held))
        report.add("server_rss_before_kb", .int(rssBefore))
        report.add("server_rss_after_kb", .int(rssAfter))
        let perConnection = held > 0 ? Double(rssAfter - rssBefore) * 1024 / Double(held) : 0
        report.add("server_bytes_per_conn", .double(perConnection))
        report.add("client_bytes_per_conn", .double(held > 0 ? Double(clientRSSAfter - clientRSSBefore) * 1024 / Double(held) : 0))
        report.add("dropped_connections", .int(stats.droppedConnections.load(ordering: .relaxed)))
        return report
    }
}
