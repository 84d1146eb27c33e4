import ArgumentParser
import Foundation
import NIOCore

/// Scenario 6 (issue 9): honest subscribers' fan-out measured twice, first alone, then while
/// attackers pipeline without reading, hold half-open requests and park idle connections up to
/// the server's connection limit. Prints both runs; the attacked one adds the p99 ratio, the
/// server's peak RSS (VmHWM) and what the attackers did. The attackers run in a process of their
/// own (`attack`), placed by `--attack-wrapper`, so the bench does not measure itself.
struct HostileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "Fan-out alone, then under attack (pipelining non-readers, slowloris, idle sockets); p99, peak RSS, lost.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions
    @OptionGroup var attack: AttackPlanOptions

    @Option(help: "Honest subscribers on the topic.")
    var subscribers: Int = 1_000

    @Option(help: "Seconds the attack runs before the publishing window opens.")
    var attackLead: Double = 5

    @Option(help: "Command (split at spaces) the attack process is started under, e.g. \"taskset -c 1 chrt --idle 0\".")
    var attackWrapper: String = ""

    func run() throws {
        guard let serverPid = connection.serverPid else { throw ValidationError("hostile needs --server-pid (peak RSS)") }
        guard connection.server == .gateway else { throw ValidationError("hostile measures the gateway (--server gateway)") }
        try runReportingErrors {
            let shape = { (name: String) in
                LoadShape(name: name, subscribers: subscribers, subscriberAudience: { _ in .fanout },
                          eventAudience: { _, _ in .fanout }, broadcast: true, defaultWindowEvents: 16)
            }
            let quiet = try LoadRun(connection: connection, load: load).execute(shape("hostile-baseline"))
            quiet.print()
            let token = connection.target().minter.token(subject: "attacker", principals: [])
            let process = try AttackProcess(
                wrapper: attackWrapper.split(separator: " ").map(String.init),
                arguments: ["--host", connection.host, "--port", String(connection.port), "--history-token", token] + attack.arguments)
            let side = AttackSideEffect(attack: process, plan: attack, lead: attackLead, serverPid: serverPid, baseline: quiet)
            let attacked = try LoadRun(connection: connection, load: load).execute(shape("hostile"), sideEffect: side)
            try side.requireAttackRan()
            attacked.print()
        }
    }
}

/// Runs the attack process over the publishing window (started `lead` seconds early) and reports
/// it with the comparison against the quiet run.
final class AttackSideEffect: LoadSideEffect {
    private let attack: AttackProcess
    private let plan: AttackPlanOptions
    private let lead: Double
    private let serverPid: Int32
    private let baseline: Report
    private var rssAtStart = 0
    private var outcome: Result<AttackReport, Error>?

    init(attack: AttackProcess, plan: AttackPlanOptions, lead: Double, serverPid: Int32, baseline: Report) {
        self.attack = attack
        self.plan = plan
        self.lead = lead
        self.serverPid = serverPid
        self.baseline = baseline
    }

    func start(on loop: EventLoop) {
        rssAtStart = (try? ProcessProbe.rssKilobytes(pid: serverPid)) ?? 0
        do {
            try attack.start()
        } catch {
            outcome = .failure(error)
            return
        }
        Thread.sleep(forTimeInterval: lead)
    }

    func stop() {
        if outcome == nil { outcome = Result { try attack.stop() } }
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
        report.add("attack_pipeliners", .int(plan.pipeliners))
        report.add("attack_half_open", .int(plan.halfOpen))
        report.add("attack_idle", .int(plan.idle))
        guard case .success(let attack)? = outcome else { return }
        report.add("attack_connects", .int(attack.connects))
        report.add("attack_connect_failures", .int(attack.connectFailures))
        report.add("attack_closed_by_server", .int(attack.closedByServer))
        report.add("attack_peak_open", .int(attack.peakOpen))
        report.add("attack_bytes_sent", .int(attack.bytesSent))
        report.add("attack_cpu_s", .double(attack.cpuSeconds))
    }

    /// A run whose attack process failed is no measurement: its error, not its figures.
    func requireAttackRan() throws {
        if case .failure(let error)? = outcome {
            throw (error as? BenchError) ?? BenchError(code: "bench.attack_failed", message: "\(error)")
        }
    }
}
