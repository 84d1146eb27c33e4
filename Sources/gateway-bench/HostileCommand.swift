import ArgumentParser
import Foundation
import NIOCore

/// Scenario 6 (issue 9): honest subscribers' fan-out measured twice, first alone, then while
/// attackers pipeline without reading, hold half-open requests and park idle connections up to
/// the server's connection limit. Prints both runs; the attacked one adds the p99 ratio, the
/// server's peak RSS (VmHWM) and what the attackers did.
struct HostileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "Fan-out alone, then under attack (pipelining non-readers, slowloris, idle sockets); p99, peak RSS, lost.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Honest subscribers on the topic.")
    var subscribers: Int = 1_000

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

    @Option(help: "Seconds the attack runs before the publishing window opens.")
    var attackLead: Double = 5

    func run() throws {
        guard let serverPid = connection.serverPid else { throw ValidationError("hostile needs --server-pid (peak RSS)") }
        guard connection.server == .gateway else { throw ValidationError("hostile measures the gateway (--server gateway)") }
        guard pipeliners >= 0, halfOpen >= 0, idle >= 0, reconnectsPerSecond >= 1 else {
            throw ValidationError("attacker counts must be >= 0 and --reconnects-per-second >= 1")
        }
        try runReportingErrors {
            let shape = { (name: String) in
                LoadShape(name: name, subscribers: subscribers, subscriberAudience: { _ in .fanout },
                          eventAudience: { _, _ in .fanout }, broadcast: true, defaultWindowEvents: 16)
            }
            let quiet = try LoadRun(connection: connection, load: load).execute(shape("hostile-baseline"))
            quiet.print()
            let target = connection.target()
            let attackers = Attackers(
                plan: .init(pipeliners: pipeliners, halfOpen: halfOpen, idle: idle, reconnectsPerSecond: reconnectsPerSecond,
                            sourceAddress: attackerSource,
                            historyToken: target.minter.token(subject: "attacker", principals: [])),
                host: connection.host, port: connection.port)
            let attack = AttackSideEffect(attackers: attackers, lead: attackLead, serverPid: serverPid, baseline: quiet)
            try LoadRun(connection: connection, load: load).execute(shape("hostile"), sideEffect: attack).print()
        }
    }
}

/// Runs the attackers over the publishing window (opened `lead` seconds early) and reports them
/// with the comparison against the quiet run.
final class AttackSideEffect: LoadSideEffect {
    private let attackers: Attackers
    private let lead: Double
    private let serverPid: Int32
    private let baseline: Report
    private var rssAtStart = 0

    init(attackers: Attackers, lead: Double, serverPid: Int32, baseline: Report) {
        self.attackers = attackers
        self.lead = lead
        self.serverPid = serverPid
        self.baseline = baseline
    }

    func start(on loop: EventLoop) {
        rssAtStart = (try? ProcessProbe.rssKilobytes(pid: serverPid)) ?? 0
        attackers.start()
        Thread.sleep(forTimeInterval: lead)
    }

    func stop() {
        attackers.stopAndWait()
    }

    func report(into report: inout Report, published: Int) {
        // LoadRun has added this run's p99_ms before the side effect reports.
        let quietP99 = baseline.double("p99_ms"), attackedP99 = report.double("p99_ms")
        report.add("baseline_p99_ms", quietP99.map { .double($0) } ?? .null)
        report.add("baseline_lost", baseline.value("lost") ?? .null)
        if let quietP99, let attackedP99, quietP99 > 0 {
            report.add("p99_vs_baseline", .double(attackedP99 / quietP99))
        }
        report.add("server_rss_before_attack_kb", .int(rssAtStart))
        report.add("server_rss_kb", ((try? ProcessProbe.rssKilobytes(pid: serverPid)).map { .int($0) }) ?? .null)
        report.add("server_peak_rss_kb", ((try? ProcessProbe.peakRSSKilobytes(pid: serverPid)).map { .int($0) }) ?? .null)
        report.add("attack_pipeliners", .int(attackers.plan.pipeliners))
        report.add("attack_half_open", .int(attackers.plan.halfOpen))
        report.add("attack_idle", .int(attackers.plan.idle))
        report.add("attack_connects", .int(attackers.connects.load(ordering: .relaxed)))
        report.add("attack_connect_failures", .int(attackers.connectFailures.load(ordering: .relaxed)))
        report.add("attack_closed_by_server", .int(attackers.closedByServer.load(ordering: .relaxed)))
        report.add("attack_peak_open", .int(attackers.peakOpen.load(ordering: .relaxed)))
        report.add("attack_bytes_sent", .int(attackers.bytesSent.load(ordering: .relaxed)))
    }
}
