import ArgumentParser
import Foundation
import NIOCore

/// Scenario 6: several gateway nodes on one Redis (`[engine] kind = "redis"`). Subscribers are
/// spread over the nodes' ports, the publisher uses the first; Redis's own command counters
/// (`INFO commandstats`, read with redis-cli before and after the publishing window) give the
/// Redis work per event.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Fan-out across gateway nodes on one Redis: subscribers spread over --ports, publishing on the first.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Subscribers on the topic, spread round-robin over the nodes.")
    var subscribers: Int = 1_000

    @Option(help: "The nodes' ports, comma-separated; the first one also takes the publishes.")
    var ports: String

    @Option(help: "Port of the Redis server the nodes share (for INFO commandstats).")
    var redisPort: Int = 6379

    func run() throws {
        let nodePorts = ports.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !nodePorts.isEmpty, nodePorts.allSatisfy({ (1...65535).contains($0) }) else {
            throw ValidationError("--ports must be a comma-separated list of ports, e.g. 8081,8082,8083")
        }
        var publishing = connection
        publishing.port = nodePorts[0]
        let shape = LoadShape(
            name: "cluster", subscribers: subscribers,
            subscriberAudience: { _ in .fanout },
            eventAudience: { _, _ in .fanout },
            broadcast: true, defaultWindowEvents: 16
        )
        let counter = RedisCommandCounter(port: redisPort, nodes: nodePorts.count)
        try runReportingErrors {
            try LoadRun(connection: publishing, load: load, subscriberPorts: nodePorts).execute(shape, sideEffect: counter).print()
        }
    }
}

/// Reads `INFO commandstats` when the publishing window opens and closes; reports the calls per
/// accepted event, in all and for the commands the engine uses.
final class RedisCommandCounter: LoadSideEffect, @unchecked Sendable {   // @unchecked: start/stop/report run in sequence on the bench's thread
    private let port: Int
    private let nodes: Int
    private var before: [String: Int] = [:]
    private var after: [String: Int] = [:]
    private var error: String?

    init(port: Int, nodes: Int) {
        self.port = port
        self.nodes = nodes
    }

    func start(on loop: EventLoop) { before = read() }
    func stop() { after = read() }

    func report(into report: inout Report, published: Int) {
        report.add("nodes", .int(nodes))
        if let error {
            report.add("redis_error", .string(error))
            return
        }
        let delta = after.merging(before.mapValues { -$0 }, uniquingKeysWith: +).filter { $0.value > 0 && $0.key != "info" }
        let perEvent = { (calls: Int) in published > 0 ? Double(calls) / Double(published) : 0 }
        report.add("redis_commands_per_event", .double(perEvent(delta.values.reduce(0, +))))
        for name in ["evalsha", "incr", "get", "xadd", "publish", "ping", "xrange"] {
            report.add("redis_\(name)_per_event", .double(perEvent(delta[name] ?? 0)))
        }
    }

    private func read() -> [String: Int] {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-p", String(port), "INFO", "commandstats"]
        let output = Pipe()
        cli.standardOutput = output
        do { try cli.run() } catch {
            self.error = "redis-cli: \(error)"
            return [:]
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cli.waitUntilExit()
        var calls: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            if let range = line.range(of: "calls=") {
                calls[String(name)] = Int(line[range.upperBound...].prefix(while: \.isNumber))
            }
        }
        return calls
    }
}
