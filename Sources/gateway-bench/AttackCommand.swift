import ArgumentParser
import Foundation

/// The attackers of the `hostile` scenario as a process of their own: `hostile` starts it (under
/// `--attack-wrapper`, e.g. `taskset`/`chrt`), closes its standard input to stop it and reads
/// the one JSON line it prints then. Runnable by hand too: it attacks until stdin closes.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "The hostile scenario's attackers alone, until standard input closes; then one JSON line of counters.")

    @Option(help: "Server host (an IPv4 address).")
    var host: String = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int = 8080

    @OptionGroup var plan: AttackPlanOptions

    @Option(help: "Bearer token of the pipelined history requests.")
    var historyToken: String = "none"

    func run() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        let fileLimit = ProcessProbe.raiseOpenFileLimit()
        let sockets = plan.pipeliners + plan.halfOpen + plan.idle
        guard sockets + 64 <= fileLimit else {
            throw ValidationError("\(sockets) attacker sockets need more open files than the limit \(fileLimit)")
        }
        let attackers = Attackers(plan: plan.plan(historyToken: historyToken), host: host, port: port)
        let cpuBefore = ProcessProbe.selfCPUSeconds()
        attackers.start()
        _ = FileHandle.standardInput.readDataToEndOfFile()
        attackers.stopAndWait()
        var report = AttackReport()
        report.add(attackers)
        report.cpuSeconds = ProcessProbe.selfCPUSeconds() - cpuBefore
        print(report.jsonLine)
        fflush(nil)
    }
}

/// What the attack is: shared by `hostile` (which passes it on) and `attack`.
struct AttackPlanOptions: ParsableArguments {
    @Option(help: "Attackers pipelining GET /metrics and history requests without reading.")
    var pipeliners: Int = 20

    @Option(help: "Attackers holding half-sent request heads (one more byte every 5 s).")
    var halfOpen: Int = 200

    @Option(help: "Idle attacker connections to keep open; more than the server's max_connections reaches its limit.")
    var idle: Int = 3_000

    @Option(help: "Most attacker (re)connects per second.")
    var reconnectsPerSecond: Int = 500

    @Option(help: "Source address of the attackers' sockets.")
    var attackerSource: String = "127.0.0.2"

    func validate() throws {
        guard pipeliners >= 0, halfOpen >= 0, idle >= 0, reconnectsPerSecond >= 1 else {
            throw ValidationError("attacker counts must be >= 0 and --reconnects-per-second >= 1")
        }
    }

    func plan(historyToken: String) -> Attackers.Plan {
        .init(pipeliners: pipeliners, halfOpen: halfOpen, idle: idle, reconnectsPerSecond: reconnectsPerSecond,
              sourceAddress: attackerSource, historyToken: historyToken)
    }

    /// The same options, for the `attack` process's command line.
    var arguments: [String] {
        ["--pipeliners", String(pipeliners), "--half-open", String(halfOpen), "--idle", String(idle),
         "--reconnects-per-second", String(reconnectsPerSecond), "--attacker-source", attackerSource]
    }
}

/// The attack process's counters: printed by `attack` as one JSON line, read back by `hostile`.
struct AttackReport: Codable {
    var connects = 0
    var connectFailures = 0
    var closedByServer = 0
    var peakOpen = 0
    var bytesSent = 0
    /// CPU the attack process used (user + system), so a run shows what the attack cost the machine.
    var cpuSeconds = 0.0

    mutating func add(_ attackers: Attackers) {
        connects = attackers.connects.load(ordering: .relaxed)
        connectFailures = attackers.connectFailures.load(ordering: .relaxed)
        closedByServer = attackers.closedByServer.load(ordering: .relaxed)
        peakOpen = attackers.peakOpen.load(ordering: .relaxed)
        bytesSent = attackers.bytesSent.load(ordering: .relaxed)
    }

    var jsonLine: String {
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// `gateway-bench attack` started from `hostile`: this executable again, optionally behind a
/// wrapper command that places it (`taskset -c 1 chrt --idle 0`).
final class AttackProcess {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(wrapper: [String], arguments: [String]) throws {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = wrapper + [executable, "attack"] + arguments
        process.standardInput = input
        process.standardOutput = output
    }

    func start() throws { try process.run() }

    /// Closes the attack's standard input (its signal to stop) and reads its counters.
    func stop() throws -> AttackReport {
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = printed.split(separator: UInt8(ascii: "\n")).last,
              let report = try? JSONDecoder().decode(AttackReport.self, from: Data(line)) else {
            throw BenchError(code: "bench.attack_failed",
                             message: "the attack process exited with \(process.terminationStatus): \(String(decoding: printed, as: UTF8.self))")
        }
        return report
    }
}
